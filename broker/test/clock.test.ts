import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { decodePayload, systemTopic } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerService, DeviceRegistry } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect } from './helpers.ts';

const HAS_MOSQUITTO_SUB = existsSync('/usr/bin/mosquitto_sub');
const CLOCK = systemTopic('clock');

/** Issue 9, high 3: the broker's time on slopeguard/v1/clock, readable by every account. */
describe('broker clock', () => {
  const bed = brokerBed('sg-clock-');
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let secret: string;
  let observer: string;
  let recorder: string;
  const open: MqttClient[] = [];

  beforeAll(async () => {
    ({ registry } = bed.open());
    secret = registry.addDevice('s1', 'g1');
    observer = registry.addAccount('observer', { role: 'observer' });
    recorder = registry.addAccount('recorder', { role: 'recorder' });
    broker = await bed.start({
      clockIntervalMs: 50,
    });
  });
  afterAll(() => bed.close(open));

  async function firstClock(username: string, password: string): Promise<{ ts: number; retain: boolean }> {
    const c = await connect(broker.port, { username, password, clientId: username });
    open.push(c);
    const got = new Promise<{ ts: number; retain: boolean }>((resolve) =>
      c.once('message', (_t, payload, packet) => {
        const decoded = decodePayload('clock', payload);
        if (decoded.ok) resolve({ ts: decoded.value.ts, retain: packet.retain });
      }),
    );
    const [granted] = await c.subscribeAsync(CLOCK, { qos: 0 });
    expect(granted?.qos).toBe(0);
    return got;
  }

  it('a gateway, the recorder account and an observer may subscribe and get the broker time (not retained)', async () => {
    for (const [u, p] of [
      ['s1.g1', secret],
      ['recorder', recorder],
      ['observer', observer],
    ] as const) {
      const before = Date.now();
      const clock = await firstClock(u, p);
      expect(clock.retain).toBe(false);
      expect(clock.ts).toBeGreaterThanOrEqual(before - 100);
      expect(clock.ts).toBeLessThanOrEqual(Date.now());
    }
  });

  it('nobody but the broker may publish the clock: a gateway trying is refused (acl), subscribers never see it', async () => {
    const c = await connect(broker.port, { username: 's1.g1', password: secret, clientId: 's1.g1-fake' });
    open.push(c);
    const watcher = await connect(broker.port, {
      username: 'observer',
      password: observer,
      clientId: 'observer-2',
    });
    open.push(watcher);
    const seen: number[] = [];
    watcher.on('message', (_t, p) => seen.push((JSON.parse(p.toString()) as { ts: number }).ts));
    await watcher.subscribeAsync(CLOCK, { qos: 0 });
    await c.publishAsync(CLOCK, JSON.stringify({ ts: 4_070_908_800_000 }), { qos: 1 });
    // Wait for two genuine ticks after the fake one was acknowledged: it was not among them.
    const n = seen.length;
    await new Promise<void>((resolve) => {
      const check = () => (seen.length >= n + 2 ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(seen.every((ts) => ts < 4_000_000_000_000)).toBe(true);
  });

  it.skipIf(!HAS_MOSQUITTO_SUB)('mosquitto_sub as a gateway reads one clock message', async () => {
    const line = await new Promise<string>((resolve, reject) =>
      execFile(
        'mosquitto_sub',
        [
          ...['-h', '127.0.0.1', '-p', String(broker.port), '-u', 's1.g1', '-P', secret, '-i', 's1.g1-sub'],
          ...['-t', CLOCK, '-C', '1', '-W', '5'],
        ],
        { timeout: 8000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(line)).toEqual({ ts: expect.any(Number) });
  });
});
