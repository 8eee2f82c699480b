import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerService, DeviceRegistry, Limits } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, metricValue } from './helpers.ts';

const HAS_MOSQUITTO_PUB = existsSync('/usr/bin/mosquitto_pub');

/** CONNACK return code of a CONNECT (0 = accepted). */
async function returnCode(port: number, opts: IClientOptions, open: MqttClient[]): Promise<number> {
  try {
    open.push(await connect(port, opts));
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'number') throw err;
    return code;
  }
}

describe('account lockout, brute force and enumeration (issue 9, item 4 and medium findings)', () => {
  let bed: ReturnType<typeof brokerBed>;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let metrics: Registry;
  let secret: string;
  let secret2: string;
  const open: MqttClient[] = [];

  // Refill rates this low make the buckets' burst the whole budget for the test's duration.
  async function start(limits: Partial<Limits>) {
    broker = await bed.start({
      limits: { connectsPerMinute: 0.001, failedAuthPerMinutePerAddress: 0.001, ...limits },
    });
  }
  const code = (opts: IClientOptions) => returnCode(broker.port, opts, open);
  const owner = (clientId = 's1.g1') => code({ username: 's1.g1', password: secret, clientId });
  const guess = (i: number, clientId = 's1.g1') =>
    code({ username: 's1.g1', password: `wrong-${i}`, clientId });

  beforeEach(() => {
    bed = brokerBed('sg-lockout-');
    ({ registry } = bed.open());
    secret = registry.addDevice('s1', 'g1');
    secret2 = registry.addDevice('s1', 'g2');
    metrics = bed.metrics;
  });
  afterEach(() => bed.close(open.splice(0)));

  it('CONNECTs that know only the username do not spend the account connect budget: the owner still gets in', async () => {
    await start({ connectBurst: 3, failedAuthBurst: 100 });
    for (let i = 0; i < 6; i++) expect(await guess(i)).toBe(4);
    expect(await owner('s1.g1-a')).toBe(0);
    expect(await owner('s1.g1-b')).toBe(0);
  });

  it('successful CONNECTs do spend it (a reconnect storm of the owner is still limited)', async () => {
    await start({ connectBurst: 2, failedAuthBurst: 100 });
    expect([await owner('s1.g1-a'), await owner('s1.g1-b'), await owner('s1.g1-c')]).toEqual([0, 0, 3]);
    expect(await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="rate"')).toBe(
      1,
    );
  });

  it('counts guesses in flight: a parallel burst gets failedAuthBurst secret checks, the rest code 3', async () => {
    await start({ failedAuthBurst: 5 });
    const codes = await Promise.all(Array.from({ length: 30 }, (_, i) => guess(i)));
    expect(codes.filter((c) => c === 4)).toHaveLength(5);
    expect(codes.filter((c) => c === 3)).toHaveLength(25);
    expect(
      await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="bad_secret"'),
    ).toBe(5);
    expect(
      await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="address_backoff"'),
    ).toBe(25);
  });

  it('the address back-off refuses guesses but not a secret this broker already verified', async () => {
    await start({ failedAuthBurst: 3 });
    expect(await owner('s1.g1-first')).toBe(0); // verified once (scrypt): the broker knows this secret
    for (let i = 0; i < 3; i++) expect(await guess(i)).toBe(4);
    // The address is in back-off now: more guesses are refused before any secret check ...
    expect(await guess(99)).toBe(3);
    // ... but the owner, behind the same address, still gets in.
    expect(await owner('s1.g1-again')).toBe(0);
    // A gateway not yet verified by this process waits for the back-off like a guesser.
    expect(await code({ username: 's1.g2', password: secret2, clientId: 's1.g2' })).toBe(3);
  });

  it('answers an unknown username, a wrong secret and a wrong client id alike (code 4), and code 2 only with the right secret', async () => {
    await start({ failedAuthBurst: 100 });
    expect(await code({ username: 's1.nobody', password: 'x', clientId: 's1.nobody' })).toBe(4);
    expect(await code({ username: 's1.nobody', password: 'x', clientId: 'whatever' })).toBe(4);
    // Known username, wrong client id, wrong secret: the secret is checked first.
    expect(await guess(1, 'whatever')).toBe(4);
    expect(await guess(2, 's1.g2')).toBe(4);
    // Only the holder of the secret learns that the client id is wrong.
    expect(await owner('s1.g2')).toBe(2);
  });

  it('refuses a client id longer than maxClientIdLength (code 2), also for MQTT 3.1.1', async () => {
    await start({ failedAuthBurst: 100 });
    expect(await owner(`s1.g1-${'x'.repeat(186)}`)).toBe(0); // 192 characters: the limit
    expect(await owner(`s1.g1-${'x'.repeat(294)}`)).toBe(2); // 300 characters
    expect(
      await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="client_id_length"'),
    ).toBe(1);
  });

  it.skipIf(!HAS_MOSQUITTO_PUB)('mosquitto_pub with a 300-character client id is refused', async () => {
    await start({ failedAuthBurst: 100 });
    const args = ['-h', '127.0.0.1', '-p', String(broker.port), '-u', 's1.g1', '-P', secret];
    const run = (id: string) =>
      new Promise<string>((resolve) =>
        execFile(
          'mosquitto_pub',
          [...args, '-i', id, '-t', 'x', '-n', '-q', '0'],
          { timeout: 8000 },
          (err, o, e) => resolve(err ? `${o}${e}` : 'ok'),
        ),
      );
    expect(await run('s1.g1')).toBe('ok');
    expect(await run(`s1.g1-${'y'.repeat(294)}`)).toMatch(/identifier rejected/i);
  });
});
