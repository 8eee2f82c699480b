import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SocatError, startPtyPair } from '../../src/serial/socat.ts';

describe('startPtyPair', () => {
  it('makes two linked pty paths in a temp dir and removes them on stop', async () => {
    const pair = await startPtyPair({ names: ['gw', 'dev'] });
    expect(pair.a.endsWith('/gw')).toBe(true);
    expect(existsSync(pair.a) && existsSync(pair.b)).toBe(true);
    await pair.stop();
    expect(existsSync(pair.dir)).toBe(false);
  });

  it('fails with a coded error when socat cannot run', async () => {
    await expect(startPtyPair({ socatPath: '/nonexistent/socat' })).rejects.toBeInstanceOf(SocatError);
  });
});
