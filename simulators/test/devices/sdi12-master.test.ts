import { Sdi12Master } from '@slopeguard/firmware-bridge/sdi12/master.ts';
import { describe, expect, it } from 'vitest';
import { Sdi12Sensor } from '../../src/devices/sdi12-sensor.ts';
import { sequence } from '../../src/devices/signal.ts';

/** The SDI-12 master against the virtual sensor, wired back to back in memory (no port at all). */
function wire(sensor: Sdi12Sensor, o: { echo?: boolean } = {}) {
  const sent: string[] = [];
  const master = new Sdi12Master({
    timeoutMs: 50,
    retries: 1,
    transport: {
      async write(bytes) {
        const cmd = Buffer.from(bytes).toString('latin1');
        sent.push(cmd);
        if (o.echo) queueMicrotask(() => master.receive(Buffer.from(`${cmd}\r\n`)));
        queueMicrotask(() => sensor.receive(bytes));
      },
    },
  });
  sensor.attach((b) => master.receive(b));
  return { master, sent };
}

describe('Sdi12Master', () => {
  it('?! finds the address of the only sensor on the bus (§4.4.4)', async () => {
    const { master } = wire(
      new Sdi12Sensor({ address: 'b', fields: ['kpa'], source: sequence([{ kpa: 1 }]) }),
    );
    await expect(master.queryAddress()).resolves.toBe('b');
  });

  it('reads values spread over several D pages (35 characters each, §4.4.8)', async () => {
    const fields = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const sample = Object.fromEntries(fields.map((f, i) => [f, -1000 - i - 0.125]));
    const sensor = new Sdi12Sensor({ address: '4', fields, source: sequence([sample]), decimals: 3 });
    const { master, sent } = wire(sensor);
    const r = await master.measure('4', true);
    expect(r.values).toEqual(fields.map((_, i) => -1000 - i - 0.125));
    expect(sent).toEqual(['4MC!', '4D0!', '4D1!', '4D2!']);
  });

  it('waits for the service request when the sensor needs time (ttt > 0)', async () => {
    const sensor = new Sdi12Sensor({
      address: '1',
      fields: ['vwc'],
      seconds: 2,
      serviceAfterMs: 30,
      source: sequence([{ vwc: 25.5 }]),
    });
    const { master } = wire(sensor);
    const t0 = performance.now();
    const r = await master.measure('1', false);
    const took = performance.now() - t0;
    expect(r.values).toEqual([25.5]);
    // Released by the service request after ~30 ms, not by the 2 s announced.
    expect(took).toBeGreaterThanOrEqual(25);
    expect(took).toBeLessThan(1000);
  });

  it('tolerates an adapter that echoes the command', async () => {
    const { master } = wire(
      new Sdi12Sensor({ address: '0', fields: ['kpa'], source: sequence([{ kpa: 3.14 }]) }),
      { echo: true },
    );
    await expect(master.measure('0', true)).resolves.toMatchObject({ values: [3.14] });
  });

  it('a sensor at another address stays silent: timeout after the retries', async () => {
    const { master, sent } = wire(
      new Sdi12Sensor({ address: '0', fields: ['kpa'], source: sequence([{ kpa: 1 }]) }),
    );
    await expect(master.measure('9', false)).rejects.toMatchObject({
      code: 'SG_BRIDGE_TIMEOUT',
      reason: 'timeout',
    });
    expect(sent).toEqual(['9M!', '9M!']);
  });
});

describe('Sdi12Master.close', () => {
  it('ends a long measurement wait at once (ttt may be 999 s) and refuses new commands until reopen', async () => {
    const sensor = new Sdi12Sensor({
      address: '1',
      fields: ['vwc'],
      seconds: 120,
      serviceAfterMs: 60_000,
      source: sequence([{ vwc: 1 }]),
    });
    const { master } = wire(sensor);
    const pending = master.measure('1', false);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    master.close();
    await expect(pending).rejects.toMatchObject({ code: 'SG_BRIDGE_STOPPED' });
    expect(performance.now() - t0).toBeLessThan(100);
    await expect(master.queryAddress()).rejects.toMatchObject({ code: 'SG_BRIDGE_STOPPED' });
    sensor.detach();
  });
});
