import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HealthTracker } from '../src/health.ts';
import { backoffMs } from '../src/serial/backoff.ts';

function tracker() {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  let t = 1000;
  const h = new HealthTracker(pino({ level: 'info' }, stream), () => t++, ['s1', 's2']);
  return { h, lines };
}

describe('reopen backoff', () => {
  it('doubles from the initial delay and stays at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 100].map((a) => backoffMs(a, 500, 30_000))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });
});

describe('HealthTracker', () => {
  it('logs the first error of a run once, counts the rest, logs the recovery with the count', () => {
    const { h, lines } = tracker();
    h.port(true);
    for (let i = 0; i < 5; i++) h.error('timeout', 'no response', 's1');
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    h.error('crc', 'bad CRC', 's1');
    expect(lines.filter((l) => l.level === 40)).toHaveLength(2);
    h.ok('s1', 12);
    expect(lines.filter((l) => l.msg === 'recovered')).toHaveLength(2);
    h.error('timeout', 'no response', 's1');
    expect(lines.filter((l) => l.level === 40)).toHaveLength(3);
    const s = h.snapshot();
    expect(s.errors).toEqual({ timeout: 6, crc: 1 });
    expect(s.sensors?.s1).toMatchObject({
      errors: { timeout: 6, crc: 1 },
      latencyMs: 12,
      lastError: 'timeout: no response',
    });
  });

  it('state: down without a port, degraded while any sensor fails, ok when all read', () => {
    const { h } = tracker();
    expect(h.snapshot().state).toBe('down');
    h.port(true);
    h.ok('s1');
    expect(h.snapshot().state).toBe('degraded');
    h.ok('s2');
    expect(h.snapshot().state).toBe('ok');
    h.error('timeout', 'x', 's2');
    expect(h.snapshot().state).toBe('degraded');
    h.port(false);
    expect(h.snapshot().state).toBe('down');
    expect(h.snapshot().sensors?.s1?.state).toBe('down');
  });

  it('snapshots are copies', () => {
    const { h } = tracker();
    const a = h.snapshot();
    a.errors.x = 1;
    expect(h.snapshot().errors).toEqual({});
  });
});
