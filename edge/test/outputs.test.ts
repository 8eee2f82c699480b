import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock } from '@slopeguard/edge/clock.ts';
import { createGpioOutput, gpiosetArgs } from '@slopeguard/edge/outputs/gpio.ts';
import { createSerialRelayOutput } from '@slopeguard/edge/outputs/serial-relay.ts';
import { startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './helpers.ts';

/**
 * The hardware outputs up to the hardware. GPIO: there is no GPIO chip here, so `gpioset` is replaced
 * by a script that records its arguments and holds (as the real one does) until killed. Serial relay:
 * a real socat pty pair, the relay's bytes read at the far end.
 */
const log = pino({ level: 'silent' });

describe('outputs', () => {
  const tmp = tempDir('outputs');
  afterAll(() => tmp.cleanup());

  it('gpioset arguments for libgpiod 2 and 1', () => {
    const base = { id: 'siren', atLevel: 4, chip: 'gpiochip0', line: 17, gpiosetPath: 'gpioset' };
    expect(gpiosetArgs({ ...base, activeLow: false, gpiodVersion: 2 }, true)).toEqual([
      '--chip',
      'gpiochip0',
      '17=1',
    ]);
    expect(gpiosetArgs({ ...base, activeLow: true, gpiodVersion: 2 }, false)).toEqual([
      '--chip',
      'gpiochip0',
      '--active-low',
      '17=0',
    ]);
    expect(gpiosetArgs({ ...base, activeLow: false, gpiodVersion: 1 }, true)).toEqual([
      '--mode=signal',
      'gpiochip0',
      '17=1',
    ]);
  });

  it('GPIO: one gpioset holds the line at its value; a change replaces it', async () => {
    const calls = join(tmp.dir, 'gpioset-calls');
    const fake = join(tmp.dir, 'fake-gpioset');
    writeFileSync(fake, `#!/bin/sh\necho "$$ $*" >> ${calls}\nexec sleep 600\n`);
    chmodSync(fake, 0o755);
    const out = createGpioOutput(
      {
        id: 'siren',
        atLevel: 4,
        chip: 'gpiochip0',
        line: 17,
        activeLow: false,
        gpiodVersion: 2,
        gpiosetPath: fake,
      },
      systemClock,
      log,
    );
    const lines = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
    const alive = (pid: string) => {
      try {
        process.kill(Number(pid), 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await waitFor('holder at 0', () => lines().length === 1);
      expect(lines()[0]).toMatch(/^\d+ --chip gpiochip0 17=0$/);
      out.set(true, 'test');
      await waitFor('holder at 1', () => lines().length === 2);
      expect(lines()[1]).toMatch(/ --chip gpiochip0 17=1$/);
      const [first, second] = lines().map((l) => l.split(' ')[0] as string);
      await waitFor('old holder gone', () => !alive(first as string));
      expect(alive(second as string)).toBe(true);
      expect(out.state()).toMatchObject({ on: true, kind: 'gpio' });
    } finally {
      await out.close();
    }
  });

  it('serial relay: the on and off bytes reach the port', async () => {
    const pair = await startPtyPair();
    const far = await open(pair.b, 'r');
    const got: Buffer[] = [];
    const reader = (async () => {
      const buf = Buffer.alloc(64);
      for (;;) {
        const { bytesRead } = await far.read(buf, 0, 64).catch(() => ({ bytesRead: 0 }));
        if (bytesRead === 0) return;
        got.push(Buffer.from(buf.subarray(0, bytesRead)));
      }
    })();
    const out = createSerialRelayOutput(
      { id: 'light', atLevel: 3, port: pair.a, baudRate: 9600, on: 'A00101A2', off: 'A00100A1' },
      systemClock,
      log,
    );
    try {
      await waitFor('initial off', () => Buffer.concat(got).toString('hex') === 'a00100a1');
      out.set(true, 'test');
      await waitFor('on', () => Buffer.concat(got).toString('hex') === 'a00100a1a00101a2');
      expect(out.state().lastError).toBeUndefined();
    } finally {
      await out.close();
      await pair.stop();
      await far.close().catch(() => {});
      await reader;
    }
  });
});
