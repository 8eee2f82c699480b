import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { childLogger, createLogger } from '../src/log.ts';

/** The raw JSON lines a logger wrote, as strings (duplicates of a key only show in the raw text). */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

const occurrences = (line: string, key: string) => line.split(`"${key}":`).length - 1;

describe('logger factory', () => {
  it('writes "component" once in a line from a nested child, the innermost value', () => {
    const out = capture();
    const root = createLogger({ level: 'info', stream: out.stream, bindings: { component: 'server' } });
    const center = childLogger(root, { component: 'control-center' });
    const levels = childLogger(center, { component: 'site-levels', site: 'demo-a' });
    levels.info({ level2: 3 }, 'level changed');
    const line = out.lines[0] ?? '';
    expect(occurrences(line, 'component')).toBe(1);
    expect(JSON.parse(line)).toMatchObject({
      component: 'site-levels',
      site: 'demo-a',
      msg: 'level changed',
    });
  });

  it('keeps the bindings of every ancestor, each once', () => {
    const out = capture();
    const root = createLogger({ level: 'info', stream: out.stream });
    const edge = childLogger(root, { component: 'edge', site: 'demo-a', gateway: 'gw-1' });
    const driver = childLogger(childLogger(edge, { part: 'driver' }), {
      component: 'firmware-bridge',
      part: 'modbus',
    });
    driver.warn('timeout');
    const line = out.lines[0] ?? '';
    for (const key of ['component', 'part', 'site', 'gateway', 'pid'])
      expect(occurrences(line, key), key).toBe(1);
    expect(JSON.parse(line)).toMatchObject({ component: 'firmware-bridge', part: 'modbus', site: 'demo-a' });
  });

  it('redacts secrets at the top level and one level down, in children too', () => {
    const out = capture();
    const log = childLogger(createLogger({ level: 'info', stream: out.stream }), { component: 'edge' });
    log.info(
      {
        password: 'hunter2',
        uplink: { password: 'p', url: 'mqtt://h' },
        token: 't',
        headers: { authorization: 'Bearer x' },
      },
      'config',
    );
    const line = out.lines[0] ?? '';
    for (const secret of ['hunter2', '"p"', '"t"', 'Bearer x']) expect(line).not.toContain(secret);
    expect(JSON.parse(line)).toMatchObject({ uplink: { password: '[Redacted]', url: 'mqtt://h' } });
  });

  it('is needed: a plain pino child of a child repeats "component"', () => {
    const out = capture();
    const plain = pino({ level: 'info' }, out.stream).child({ component: 'a' }).child({ component: 'b' });
    plain.info('x');
    expect(occurrences(out.lines[0] ?? '', 'component')).toBe(2);
  });
});
