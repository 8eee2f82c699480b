import { type GatewayChannel, gatewayTopic } from '@slopeguard/core';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerService, DeviceRegistry, Store } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, telemetry, tilt, until } from './helpers.ts';

/**
 * Issue 9, acceptance 2: arbitrary JSON on every channel a gateway may publish, through the real
 * broker and recorder (SQLite store), while a well-behaved gateway publishes. Afterwards the
 * broker is up, every good reading is stored, and every fuzz message is accounted for: either
 * delivered to a subscriber (it was valid) or refused and counted per gateway.
 *
 * FUZZ_RUNS sets the number of fuzz messages (default 300, a few seconds);
 * `FUZZ_RUNS=100000 npx vitest run broker/test/fuzz.test.ts` is the long run (docs/operations.md).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const CHANNELS: GatewayChannel[] = ['telemetry', 'status', 'event', 'cmd/ack'];

const oddKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  '',
  ' ',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'x'.repeat(300),
  '\u0000',
  '한글',
  '\ud800',
  'toString',
  'values',
);
const nanLike = fc.constantFrom(
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  '0x10',
  '',
  'null',
  'undefined',
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(1e300, -1e300, 2 ** 53 + 1, 5e-324));

/** Raw payload text: structures no JSON generator makes on its own (deep, wide, huge). */
const rawText = fc.oneof(
  fc.integer({ min: 1, max: 20_000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`),
  fc
    .integer({ min: 1, max: 5_000 })
    .map((d) => `{"seq":1,"readings":[${'{"a":'.repeat(d)}1${'}'.repeat(d)}]}`),
  fc
    .integer({ min: 1, max: 5_000 })
    .map((w) => JSON.stringify(Object.fromEntries(Array.from({ length: w }, (_, i) => [`k${i}`, i])))),
  fc
    .integer({ min: 1, max: 200_000 })
    .map((n) => JSON.stringify({ state: 'online', ts: 1, note: 'x'.repeat(n) })),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('', 'null', 'true', '1', '"x"', '{', '{"seq":NaN}', '{"a":1,"a":2}', '\ufeff{}'),
);

/** JSON that looks like the contract's messages, with hostile parts. */
const shaped = fc.oneof(
  fc.record({
    seq: fc.oneof(number, nanLike),
    readings: fc.array(
      fc.record({
        sensor: fc.oneof(fc.constantFrom('m1', 'M1', '-', 'a'.repeat(64)), fc.string()),
        kind: fc.oneof(fc.constantFrom('tilt', 'rain', 'bogus'), fc.string()),
        ts: fc.oneof(number, nanLike, fc.constant(Date.now())),
        values: fc.dictionary(fc.oneof(oddKey, fc.string()), fc.oneof(number, nanLike, fc.jsonValue())),
        q: fc.oneof(fc.constantFrom('ok', 'bad', 'weird'), fc.jsonValue()),
      }),
      { maxLength: 20 },
    ),
  }),
  fc.record({
    state: fc.oneof(fc.constantFrom('online', 'offline'), fc.string()),
    ts: fc.oneof(number, nanLike),
  }),
  fc.record({
    type: fc.constantFrom('started', 'level', 'clock_fault', 'x'),
    ts: number,
    version: fc.jsonValue(),
  }),
  fc.record({ id: fc.string(), ok: fc.jsonValue(), ts: number, result: fc.jsonValue() }),
  fc.dictionary(oddKey, fc.jsonValue()),
  fc.jsonValue(),
);

/**
 * Valid telemetry with hostile but valid content: readings from the future (refused one by one)
 * and many sensor ids (over the per-gateway bound, refused one by one). `ts` is filled in by the
 * property from a counter, so that every (sensor, ts) is new and the store's count is exact.
 */
const validish = fc.array(fc.record({ sensor: fc.integer({ min: 0, max: 400 }), future: fc.boolean() }), {
  minLength: 1,
  maxLength: 20,
});

type Payload =
  | { kind: 'text'; text: string }
  | { kind: 'valid'; readings: { sensor: number; future: boolean }[] };
const payload: fc.Arbitrary<Payload> = fc.oneof(
  shaped.map((v) => ({ kind: 'text' as const, text: JSON.stringify(v) ?? 'null' })),
  rawText.map((text) => ({ kind: 'text' as const, text })),
  validish.map((readings) => ({ kind: 'valid' as const, readings })),
);

describe('fuzz: arbitrary payloads on every gateway channel through the broker and recorder', () => {
  const bed = brokerBed('sg-fuzz-');
  let store: Store;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let metrics: Registry;
  const open: MqttClient[] = [];

  beforeAll(async () => {
    ({ store, registry } = bed.open());
    metrics = bed.metrics;
    broker = await bed.start({
      // The fuzzer publishes as fast as it can: rates are not under test here (limits.test.ts).
      limits: { messagesPerSecond: 1e6, messageBurst: 1e6, readingsPerSecond: 1e7, readingBurst: 1e7 },
      recorder: { spillPath: `${bed.dir}/spill.jsonl` },
    });
  });
  afterAll(() => bed.close(open));

  async function account(site: string, gateway: string, clientId = `${site}.${gateway}`) {
    const secret = registry.get(`${site}.${gateway}`) ? undefined : registry.addDevice(site, gateway);
    const c = await connect(broker.port, { username: `${site}.${gateway}`, password: secret, clientId });
    open.push(c);
    return c;
  }

  async function refusedFor(site: string, gateway: string): Promise<number> {
    const text = await metrics.getSingleMetricAsString('slopeguard_broker_rejected_by_gateway_total');
    return text
      .split('\n')
      .filter((l) => l.includes(`site="${site}",gateway="${gateway}"`) && !l.includes('reason="retain"'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  }

  it(
    `${RUNS} fuzz messages: broker up, good readings stored, every fuzz message delivered or counted`,
    async () => {
      const fuzzer = await account('fz', 'g1');
      const good = await account('ok', 'g1');
      const ccPassword = registry.addAccount('control-center', { role: 'control-center' });
      const watcher = await connect(broker.port, {
        username: 'control-center',
        password: ccPassword,
        clientId: 'control-center-fuzz',
      });
      open.push(watcher);
      let delivered = 0;
      let deliveredReadings = 0;
      watcher.on('message', (topic, bytes) => {
        delivered++;
        if (topic.endsWith('/telemetry')) {
          deliveredReadings += (JSON.parse(bytes.toString()) as { readings: unknown[] }).readings.length;
        }
      });
      await watcher.subscribeAsync('slopeguard/v1/fz/g1/#', { qos: 1 });

      // The well-behaved gateway: one message every few fuzz messages, all the way through.
      let goodSent = 0;
      let stop = false;
      const goodLoop = (async () => {
        const base = Date.now() - 3_600_000;
        while (!stop) {
          await good.publishAsync(
            gatewayTopic('ok', 'g1', 'telemetry'),
            JSON.stringify(telemetry(goodSent, [tilt('m1', base + goodSent), tilt('m2', base + goodSent)])),
            { qos: 1 },
          );
          goodSent++;
        }
      })();

      let sent = 0;
      let tsCounter = 0;
      const past = Date.now() - 86_400_000;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...CHANNELS), payload, async (channel, p) => {
          let topic = gatewayTopic('fz', 'g1', channel);
          let text: string;
          if (p.kind === 'text') text = p.text;
          else {
            topic = gatewayTopic('fz', 'g1', 'telemetry');
            const readings = p.readings.map((r) =>
              tilt(`s${r.sensor}`, r.future ? Date.now() + 3_600_000 + tsCounter++ : past + tsCounter++),
            );
            text = JSON.stringify(telemetry(sent, readings));
          }
          // QoS 1: the PUBACK comes back for every payload (refused ones are acknowledged too).
          await fuzzer.publishAsync(topic, text, { qos: 1 });
          sent++;
          return fuzzer.connected;
        }),
        { numRuns: RUNS },
      );
      stop = true;
      await goodLoop;

      // Every fuzz message is accounted for: delivered (it was valid) or refused and counted.
      await until(async () => delivered + (await refusedFor('fz', 'g1')) === sent, 10_000).catch(
        () => undefined,
      );
      expect(delivered + (await refusedFor('fz', 'g1'))).toBe(sent);
      expect(delivered).toBeGreaterThan(0);
      // Readings of accepted fuzz messages: stored, or refused one by one and counted.
      const refusedReadings = await metrics.getSingleMetricAsString(
        'slopeguard_broker_readings_refused_total',
      );
      const refusedFz = refusedReadings
        .split('\n')
        .filter((l) => l.includes('site="fz",gateway="g1"'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
      expect((await store.count({ site: 'fz' })) + refusedFz).toBe(deliveredReadings);
      // Every good reading is stored, none of them refused.
      expect(await store.count({ site: 'ok' })).toBe(goodSent * 2);
      expect(await refusedFor('ok', 'g1')).toBe(0);
      // The broker is up and takes new connections.
      const late = await account('ok', 'g2');
      await late.publishAsync(
        gatewayTopic('ok', 'g2', 'telemetry'),
        JSON.stringify(telemetry(0, [tilt('m9', 1)])),
        {
          qos: 1,
        },
      );
      expect(await store.count({ site: 'ok' })).toBe(goodSent * 2 + 1);
      expect(broker.recorder.pending).toBe(0);
    },
    120_000 + RUNS * 50,
  );
});
