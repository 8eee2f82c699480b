import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, siteConfig } from '../src/engine/index.ts';
import { checkJsonBounds } from '../src/json-bounds.ts';
import { GATEWAY_EVENT_TYPES, type GatewayEvent } from '../src/schemas/events.ts';
import { EngineSensorHealth } from '../src/schemas/status.ts';
import { parseTopic, systemTopic } from '../src/topics.ts';
import { decodePayload, failureOf, PAYLOAD_BOUNDS, validator } from '../src/validate.ts';

const TS = 1_763_856_000_000;
const tilt = { sensor: 'tilt-1', kind: 'tilt', ts: TS, values: { x: 0.1, y: -0.2 } };
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const telemetry = (values: string) =>
  `{"seq":1,"readings":[{"sensor":"tilt-1","kind":"tilt","ts":${TS},"values":${values}}]}`;

describe('closed schemas (issue 9, critical findings 1 and 2)', () => {
  it('refuses a reading value under a key outside the pattern, however it is nested', () => {
    // The probe that stalled recording for every site: an extra upper-case key with a deep array.
    const d = decodePayload('telemetry', telemetry(`{"x":1,"y":1,"Z":${deep(100_000)}}`));
    expect(d.ok).toBe(false);
    if (!d.ok) expect(failureOf(d.errors)).toBe('depth');
    const shallow = decodePayload('telemetry', telemetry('{"x":1,"y":1,"Z":[[1]]}'));
    expect(shallow.ok).toBe(false);
    if (!shallow.ok) expect(failureOf(shallow.errors)).toBe('schema');
    expect(decodePayload('telemetry', telemetry('{"x":1,"y":1,"Z":1}')).ok).toBe(false);
    expect(decodePayload('telemetry', telemetry('{"x":1,"y":1,"temp_c":1}')).ok).toBe(true);
  });

  it('refuses non-finite values and unsafe sequence numbers', () => {
    expect(decodePayload('telemetry', telemetry('{"x":1e999,"y":1}')).ok).toBe(false);
    const seq = (n: string) =>
      decodePayload('telemetry', `{"seq":${n},"readings":[${JSON.stringify(tilt)}]}`).ok;
    expect(seq('1e300')).toBe(false);
    expect(seq(String(Number.MAX_SAFE_INTEGER + 2))).toBe(false);
    expect(seq(String(Number.MAX_SAFE_INTEGER))).toBe(true);
  });

  it('refuses a retained status with a deep or unknown field before anything recurses into it', () => {
    // 100,000 deep is over the size bound too; 10,000 deep fits the size and fails the depth.
    expect(decodePayload('status', `{"state":"online","ts":${TS},"x":${deep(100_000)}}`).ok).toBe(false);
    const d = decodePayload('status', `{"state":"online","ts":${TS},"x":${deep(10_000)}}`);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(failureOf(d.errors)).toBe('depth');
    expect(decodePayload('status', `{"state":"online","ts":${TS},"hello":"world"}`).ok).toBe(false);
    expect(decodePayload('status', `{"state":"offline","ts":${TS}}`).ok).toBe(true);
    const huge = `{"state":"online","ts":${TS},"version":"${'v'.repeat(200_000)}"}`;
    const h = decodePayload('status', huge);
    expect(h.ok).toBe(false);
    if (!h.ok) expect(failureOf(h.errors)).toBe('size');
  });

  it('accepts each declared event type and refuses undeclared ones and extra fields', () => {
    const events: GatewayEvent[] = [
      { type: 'started', ts: TS, version: '0.1.0' },
      {
        type: 'level',
        ts: TS,
        scope: 'local',
        level: 3,
        previous: 1,
        reasons: [{ rule: 'tilt-rate', level: 3 }],
      },
      { type: 'queue_dropped', ts: TS, dropped: 3, total: 10, policy: 'drop-oldest', depth: 99 },
      { type: 'sensor_health', ts: TS, driver: 'modbus:/dev/ttyUSB0', state: 'down', previous: 'ok' },
      { type: 'driver_failed', ts: TS, driver: 'line:/dev/ttyS1', error: 'ENOENT' },
      { type: 'output_test', ts: TS, outputs: ['siren-1'], seconds: 5 },
      { type: 'clock_fault', ts: TS, offsetMs: 3_600_000, ok: false },
    ];
    expect(events.map((e) => e.type).sort()).toEqual([...GATEWAY_EVENT_TYPES].sort());
    for (const e of events) expect(decodePayload('event', JSON.stringify(e)).ok).toBe(true);
    expect(decodePayload('event', `{"type":"whatever","ts":${TS}}`).ok).toBe(false);
    expect(decodePayload('event', `{"type":"started","ts":${TS},"version":"1","blob":{}}`).ok).toBe(false);
  });

  it('bounds command arguments and ack results to flat scalars', () => {
    expect(decodePayload('cmd', '{"id":"c1","name":"test-siren","args":{"seconds":5}}').ok).toBe(true);
    expect(decodePayload('cmd', '{"id":"c1","name":"test-siren","args":{"x":{"y":1}}}').ok).toBe(false);
    expect(
      decodePayload('cmd/ack', `{"id":"c1","ok":true,"ts":${TS},"result":{"outputs":["siren-1"]}}`).ok,
    ).toBe(true);
    expect(decodePayload('cmd/ack', `{"id":"c1","ok":true,"ts":${TS},"result":{"a":{"b":[1]}}}`).ok).toBe(
      false,
    );
  });

  it('bounds level reasons', () => {
    const reason = { rule: 'rain-3h', level: 2, value: 94.5, threshold: 90, window: '3h' };
    expect(decodePayload('level', JSON.stringify({ level: 2, ts: TS, reasons: [reason] })).ok).toBe(true);
    const extra = { level: 2, ts: TS, reasons: [{ ...reason, blob: [1] }] };
    expect(decodePayload('level', JSON.stringify(extra)).ok).toBe(false);
    expect(decodePayload('level', JSON.stringify({ level: 5, ts: TS, reasons: [] })).ok).toBe(false);
  });

  it('describes the engine health it publishes in a gateway status', () => {
    const engine = createEngine(
      siteConfig({
        id: 's',
        sensors: [
          { id: 'tilt-1', kind: 'tilt' },
          { id: 'rain-1', kind: 'rain' },
        ],
      }),
    );
    engine.push(tilt as Parameters<typeof engine.push>[0]);
    const check = validator(EngineSensorHealth);
    for (const h of Object.values(engine.health())) expect(check(h)).toEqual({ ok: true, value: h });
  });

  it('bounds the signboard notice to the two short forms', () => {
    const texts = { short: '산사태 경보', long: '산사태 경보: 대피하십시오' };
    const notice = { ts: TS, level: 3, kind: 'warning', exercise: true, ko: texts, en: texts };
    expect(parseTopic('slopeguard/v1/site-a/notice')).toEqual({
      scope: 'site',
      site: 'site-a',
      channel: 'notice',
    });
    expect(decodePayload('notice', JSON.stringify(notice)).ok).toBe(true);
    const long = { ...notice, ko: { ...texts, short: '가'.repeat(91) } };
    expect(decodePayload('notice', JSON.stringify(long)).ok).toBe(false);
  });

  it('parses the broker clock topic', () => {
    expect(systemTopic('clock')).toBe('slopeguard/v1/clock');
    expect(parseTopic('slopeguard/v1/clock')).toEqual({ scope: 'system', channel: 'clock' });
    expect(decodePayload('clock', `{"ts":${TS}}`).ok).toBe(true);
    expect(decodePayload('clock', `{"ts":${TS},"x":1}`).ok).toBe(false);
  });
});

describe('JSON bounds scan', () => {
  it('agrees with the real nesting depth of any JSON value, strings included', () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object'
        ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))
        : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const bytes = new TextEncoder().encode(JSON.stringify(v));
        const d = depthOf(v);
        expect(checkJsonBounds(bytes, { maxBytes: 1e9, maxDepth: d }).ok).toBe(true);
        if (d > 0) expect(checkJsonBounds(bytes, { maxBytes: 1e9, maxDepth: d - 1 }).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws and never accepts over-deep or oversized payloads on any channel', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        for (const channel of Object.keys(PAYLOAD_BOUNDS) as (keyof typeof PAYLOAD_BOUNDS)[]) {
          const d = decodePayload(channel, bytes);
          expect(typeof d.ok).toBe('boolean');
        }
      }),
      { numRuns: 300 },
    );
  });
});
