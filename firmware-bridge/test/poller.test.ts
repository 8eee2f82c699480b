import { afterEach, describe, expect, it, vi } from 'vitest';
import { Poller } from '../src/drivers/poller.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('Poller', () => {
  it('polls each task at its interval, speeds all up below the fastest, and restores each', async () => {
    vi.useFakeTimers();
    let now = 0;
    const runs: string[] = [];
    const mk = (id: string, intervalMs: number) => ({
      id,
      intervalMs,
      run: async () => {
        runs.push(`${id}@${now}`);
      },
    });
    const p = new Poller(
      [mk('a', 100), mk('b', 300)],
      () => {},
      () => now,
    );
    const advance = async (ms: number) => {
      for (let i = 0; i < ms; i += 10) {
        now += 10;
        await vi.advanceTimersByTimeAsync(10);
      }
    };
    p.start();
    await advance(300);
    const count = (id: string) => runs.filter((r) => r.startsWith(`${id}@`)).length;
    // a at 0, 100, 200, 300; b at the start and at 300.
    expect([count('a'), count('b')]).toEqual([4, 2]);
    runs.length = 0;
    p.setIntervalMs(50);
    await advance(100);
    expect(count('b')).toBe(2);
    runs.length = 0;
    p.setIntervalMs(100);
    await advance(600);
    // Back to 100 ms and 300 ms, not both at 100 ms.
    expect(count('a')).toBe(6);
    expect(count('b')).toBe(2);
    await p.stop();
  });

  it('a task that throws is reported and the loop goes on', async () => {
    const errors: string[] = [];
    let n = 0;
    const p = new Poller(
      [
        {
          id: 'x',
          intervalMs: 1,
          run: async () => {
            n++;
            throw new Error('boom');
          },
        },
      ],
      (id, err) => errors.push(`${id}: ${(err as Error).message}`),
    );
    p.start();
    while (n < 3) await new Promise((r) => setTimeout(r, 2));
    await p.stop();
    expect(errors.slice(0, 3)).toEqual(['x: boom', 'x: boom', 'x: boom']);
  });
});
