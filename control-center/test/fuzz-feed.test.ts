import { type GatewayChannel, gatewayTopic, type Telemetry } from '@slopeguard/core';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 9, acceptance 2, the control center's half: arbitrary JSON (deep, wide, huge strings, odd
 * keys) on every gateway channel and on the site level, through Debian's mosquitto (which checks
 * nothing, so only the control center's own checks stand) into the control center, while a signed-in
 * socket.io client watches and a well-behaved gateway publishes. Afterwards the server answers, the
 * socket is still connected, every good reading reached the live view, and every fuzz message was
 * either applied (it was valid) or counted as refused. The broker's half is broker/test/fuzz.test.ts.
 *
 * FUZZ_RUNS sets the number of fuzz messages (default 200); FUZZ_RUNS=20000 is a longer run.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const CHANNELS: Array<GatewayChannel | 'level'> = ['telemetry', 'status', 'event', 'cmd/ack', 'level'];

const oddKey = fc.constantFrom(
  '__proto__',
  'constructor',
  '',
  'NaN',
  'x'.repeat(300),
  '\u0000',
  '한글',
  'Z',
  'ts',
);
const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.double(),
    fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2099e9),
    fc.string({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('any'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), oddKey), tie('any'), { maxKeys: 4 }),
  ),
})).any;
/** Payload texts: shaped like contract messages with hostile parts, raw JSON, or a deep/huge blob. */
const payload = fc.oneof(
  fc
    .record({ state: fc.constantFrom('online', 'offline', 'x'), ts: value, extra: value })
    .map((o) => JSON.stringify(o)),
  fc
    .record({
      seq: value,
      readings: fc.array(fc.record({ sensor: value, kind: value, ts: value, values: value })),
    })
    .map((o) => JSON.stringify(o)),
  fc
    .record({ type: fc.constantFrom('started', 'level', 'x'), ts: value, version: value })
    .map((o) => JSON.stringify(o)),
  fc.record({ level: value, ts: value, reasons: value }).map((o) => JSON.stringify(o)),
  value.map((v) => JSON.stringify(v) ?? 'null'),
  fc
    .integer({ min: 9, max: 30_000 })
    .map((n) => `{"state":"online","ts":1,"x":${'['.repeat(n)}${']'.repeat(n)}}`),
  fc.integer({ min: 1, max: 300_000 }).map((n) => `{"version":"${'v'.repeat(n)}"}`),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
);

describe('control center under arbitrary JSON from a gateway (fuzz, through mosquitto)', () => {
  const bed = centerBed('fuzz', { readings: false });
  let center: ControlCenter;
  let viewer: SignedIn;
  let socket: Socket;
  let evil: MqttClient;
  let good: MqttClient;
  const metrics = new Registry();
  let disconnects = 0;

  beforeAll(async () => {
    center = await bed.start({
      metrics,
      sites: { autoConfigure: true },
    });
    viewer = await signIn(center, 'viewer');
    socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: viewer.cookie },
    });
    socket.on('disconnect', () => disconnects++);
    await new Promise<void>((resolve, reject) => {
      socket.on('snapshot', () => resolve());
      socket.on('connect_error', reject);
    });
    evil = await mqtt.connectAsync(bed.broker.url, { clientId: 'fuzz-gateway' });
    good = await mqtt.connectAsync(bed.broker.url, { clientId: 'good-gateway' });
  });

  afterAll(async () => {
    socket?.close();
    await evil?.endAsync();
    await good?.endAsync();
    await bed.close();
  });

  it('stays up, keeps the socket, applies every good reading and counts every refusal', {
    timeout: 120_000,
  }, async () => {
    const sent = { fuzz: 0, good: 0 };
    let goodSeq = 0;
    const t0 = Date.now() - 60_000;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CHANNELS), payload, async (channel, text) => {
        const topic =
          channel === 'level' ? 'slopeguard/v1/fuzz/level' : gatewayTopic('fuzz', 'gw-x', channel);
        await evil.publishAsync(topic, text, { qos: 1 });
        sent.fuzz++;
        // A good gateway interleaved: one tilt reading per fuzz message, each a millisecond apart.
        const message: Telemetry = {
          seq: goodSeq++,
          readings: [{ sensor: 'tilt-1', kind: 'tilt', ts: t0 + goodSeq, values: { x: 0.1, y: 0.2 } }],
        };
        await good.publishAsync(gatewayTopic('good', 'gw-1', 'telemetry'), JSON.stringify(message), {
          qos: 1,
        });
        sent.good++;
      }),
      { numRuns: RUNS },
    );
    const received = async () =>
      (await metrics.getSingleMetric('slopeguard_center_messages_total')?.get())?.values.reduce(
        (n, v) => n + v.value,
        0,
      ) ?? 0;
    // Every message reached the control center (counted on arrival, before any check; its own
    // retained level messages come back to it too, hence at least).
    await vi.waitFor(
      async () => {
        expect(center.view.summary('good')?.sensors[0]?.ts).toBe(t0 + goodSeq);
        expect(await received()).toBeGreaterThanOrEqual(sent.fuzz + sent.good);
      },
      { timeout: 20_000 },
    );
    const good1 = center.view.summary('good');
    expect(good1?.gateways[0]?.lastSeq).toBe(goodSeq - 1);
    const rejected =
      (await metrics.getSingleMetric('slopeguard_center_rejected_total')?.get())?.values.reduce(
        (n, v) => n + v.value,
        0,
      ) ?? 0;
    // Refused fuzz messages are counted; the ones that were valid by chance reached the view.
    expect(rejected).toBeGreaterThan(0);
    expect(rejected).toBeLessThanOrEqual(sent.fuzz);
    expect(disconnects).toBe(0);
    expect(socket.connected).toBe(true);
    const res = await viewer.fetch('/api/v1/sites');
    expect(res.status).toBe(200);
    const { sites } = (await res.json()) as { sites: Array<{ id: string }> };
    expect(sites.map((s) => s.id)).toContain('good');
  });
});
