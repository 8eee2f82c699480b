import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { systemClock } from '@slopeguard/edge/clock.ts';
import { CLOCK_TOPIC } from '@slopeguard/edge/clock-check.ts';
import { parseConfig } from '@slopeguard/edge/config/load.ts';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type TestBroker, tempDir, testBroker, waitFor } from './helpers.ts';
import { type Mosquitto, nodePublish, startMosquitto } from './mosquitto.ts';

/**
 * Issue 9 finding 3, gateway side: a node whose clock runs ahead cannot push readings "from the
 * future" into the queue (they would move the rule engine's clock and silence the site), and the
 * gateway notices when its own clock is off the broker's. Also: the queue's directory and files are
 * private to the gateway's user.
 */
describe('clocks: readings from the future, the gateway clock against the broker, private data', () => {
  const tmp = tempDir('clock');
  let mosquitto: Mosquitto | undefined;
  let broker: TestBroker | undefined;
  let agent: EdgeAgent | undefined;
  const logLines: Record<string, unknown>[] = [];

  afterAll(async () => {
    await agent?.stop();
    await broker?.close();
    await mosquitto?.stop();
    tmp.cleanup();
  });

  it('refuses readings too far ahead, counts them per driver and sensor, logs once per burst', async () => {
    mosquitto = await startMosquitto(
      tmp.dir,
      { gateway: 'gw-secret', node: 'node-secret' },
      'user gateway\ntopic read slopeguard-node/#\nuser node\ntopic write slopeguard-node/#\n',
    );
    broker = await testBroker(tmp.dir);
    const dataDir = join(tmp.dir, 'data');
    // As a package or an older version might have left it: world-readable.
    mkdirSync(dataDir, { mode: 0o755 });
    const pw = join(tmp.dir, 'pw');
    writeFileSync(pw, 'gw-secret');
    const r = parseConfig(
      stringify({
        site: 'clk-site',
        gateway: 'gw-clk',
        dataDir,
        uplink: { url: broker.url, batchIntervalMs: 100 },
        queue: { commitIntervalMs: 50 },
        clock: { maxSkewMs: 120_000 },
        drivers: [
          {
            driver: 'mqtt',
            id: 'nodes',
            url: mosquitto.url,
            username: 'gateway',
            passwordFile: pw,
            sensors: [
              { id: 'piezo-3', kind: 'pore_pressure' },
              { id: 'piezo-4', kind: 'pore_pressure' },
            ],
          },
        ],
      }),
    );
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const gw = new EdgeAgent({ config: r.config, clock: systemClock, logger, version: 'test' });
    agent = gw;
    await gw.start();
    const status = () => gw.status();
    await waitFor('the mqtt driver listening', () => status().sensors?.nodes?.state !== 'down');

    const m = mosquitto;
    const send = (sensor: string, ts: number, kpa: number) =>
      nodePublish(
        m,
        'node',
        'node-secret',
        `slopeguard-node/${sensor}`,
        JSON.stringify({ ts, values: { kpa } }),
      );
    const now = Date.now();
    send('piezo-3', now - 1000, 10);
    // A node that booted with a wrong clock: an hour ahead, three times; then a year ahead.
    send('piezo-3', now + 3_600_000, 11);
    send('piezo-3', now + 3_601_000, 12);
    send('piezo-4', now + 365 * 86_400_000, 13);
    send('piezo-3', now + 3_602_000, 14);
    // 60 s ahead is inside the 120 s allowed (a node's clock a little fast): accepted, ends the burst.
    send('piezo-3', now + 60_000, 15);

    await waitFor('two readings stored', () => broker?.offered.length === 2);
    expect(broker.offered.map((o) => [o.sensor, o.values.kpa])).toEqual([
      ['piezo-3', 10],
      ['piezo-3', 15],
    ]);
    // Counted as rejected, and per driver and sensor as the error `future` in the driver's health.
    expect(status().readings).toEqual({ accepted: 2, rejected: 4 });
    const nodes = gw.status().sensors?.nodes;
    expect(nodes?.errors).toEqual({ future: 4 });
    expect(nodes?.sensors?.['piezo-3']?.errors).toEqual({ future: 3 });
    expect(nodes?.sensors?.['piezo-4']?.errors).toEqual({ future: 1 });
    const refused = logLines.filter((l) => String(l.msg).startsWith('reading from the future refused'));
    expect(refused.map((l) => [l.driver, l.sensor])).toEqual([
      ['nodes', 'piezo-3'],
      ['nodes', 'piezo-4'],
    ]);
    expect(refused[0]?.aheadMs).toBeGreaterThan(3_500_000);
    const ended = logLines.filter((l) => l.msg === 'readings from the future: burst ended');
    expect(ended.map((l) => [l.sensor, l.refused])).toEqual([['piezo-3', 3]]);
  });

  it("reports the gateway clock's offset from the broker's, and a clock_fault event once", async () => {
    const gw = agent as EdgeAgent;
    const b = broker as TestBroker;
    // The broker publishes its clock itself (QoS 0, every 10 s in production).
    const clockOf = () => gw.status().clock ?? { offsetMs: Number.NaN, ok: undefined, checkedTs: 0 };
    // Absent until the broker's first tick.
    expect(gw.status().clock).toBeUndefined();
    // The broker's clock 10 minutes behind the gateway's (or the gateway's 10 minutes ahead).
    // Published until the gateway has seen one: it subscribes when its uplink connects.
    await waitFor('the gateway to see the broker clock', async () => {
      await b.publish(CLOCK_TOPIC, JSON.stringify({ ts: Date.now() - 600_000 }));
      return clockOf().ok === false;
    });
    const fault = clockOf();
    expect(fault.offsetMs).toBeGreaterThanOrEqual(600_000);
    expect(fault.offsetMs).toBeLessThan(610_000);
    // Still off: no second event. Malformed ticks change nothing.
    await b.publish(CLOCK_TOPIC, JSON.stringify({ ts: Date.now() - 600_000 }));
    for (const bad of ['{"ts":"soon"}', '{"ts":1,"x":2}', 'null', '{"ts":-5}'])
      await b.publish(CLOCK_TOPIC, bad);
    await b.publish(CLOCK_TOPIC, JSON.stringify({ ts: Date.now() }));
    await waitFor('the clock back to ok', () => clockOf().ok === true);
    // QoS 0 from one publisher arrives in order: the four malformed ticks were refused before it,
    // logged once and counted.
    expect(logLines.filter((l) => l.msg === 'broker clock message refused')).toHaveLength(1);
    expect(logLines.find((l) => l.msg === 'broker clock messages readable again')?.refused).toBe(4);
    expect(Math.abs(clockOf().offsetMs)).toBeLessThan(10_000);
    expect(clockOf().checkedTs).toBeGreaterThan(0);
    const events = () =>
      b.on(gatewayTopic('clk-site', 'gw-clk', 'event')).filter((e) => e.type === 'clock_fault');
    // One event when it went wrong, one when it was right again; none for the tick in between.
    await waitFor('the clock_fault events at the broker', () => events().length === 2);
    // The loop above may have had several ticks in flight, so the event and the status may carry
    // offsets of different ticks; both are the broker's 10 minutes (plus the ticks' transit).
    const [wrong, right] = events();
    expect(wrong?.ok).toBe(false);
    expect(wrong?.offsetMs).toBeGreaterThanOrEqual(600_000);
    expect(wrong?.offsetMs).toBeLessThan(610_000);
    expect([right?.offsetMs, right?.ok]).toEqual([clockOf().offsetMs, true]);
  });

  it('keeps the data directory 0700 and the queue files 0600', () => {
    const dataDir = join(tmp.dir, 'data');
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const f of ['queue.db', 'queue.db-wal', 'queue.db-shm'])
      expect((statSync(join(dataDir, f)).mode & 0o777).toString(8), f).toBe('600');
  });
});
