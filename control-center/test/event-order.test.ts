import type { GatewayEvent } from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveView } from '../src/live-view.ts';
import { type MqttFeed, startMqttFeed } from '../src/mqtt-feed.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';

/**
 * A gateway's events can reach the control center out of order whatever the broker does: they are
 * queued on the gateway and delivered at least once, so an event whose PUBACK was lost comes again
 * after newer ones. The site's "last event" must not go back to an older one (a sensor fault
 * replacing its recovery). Through Debian's mosquitto, with the feed's clock driven by the test.
 */
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const health = (ts: number, state: 'ok' | 'down'): GatewayEvent => ({
  type: 'sensor_health',
  ts,
  driver: 'rs485',
  state,
  previous: state === 'ok' ? 'down' : 'ok',
});

describe('gateway events out of order at the control center', () => {
  let broker: Mosquitto;
  let feed: MqttFeed;
  let pub: MqttClient;
  const view = new LiveView();
  const metrics = new Registry();
  let clock = T0;
  /** Resolves the pending `send` when the feed has handled its event. */
  let handledOne: (() => void) | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    feed = await startMqttFeed({
      url: broker.url,
      clientId: 'control-center-order',
      view,
      logger: pino({ level: 'silent' }),
      metrics,
      now: () => clock,
      onEvent: (e) => {
        if (e.channel === 'event') handledOne?.();
      },
    });
    await new Promise<void>((resolve) => {
      if (feed.client.connected) resolve();
      else feed.client.once('connect', () => resolve());
    });
    pub = await mqtt.connectAsync(broker.url, { clientId: 'ord.gw-1', reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await pub?.endAsync();
    await feed?.close();
    await broker?.stop();
  });

  /** Publishes one event as `gateway` at feed time `at` and waits until the feed has handled it. */
  async function send(gateway: string, event: GatewayEvent, at: number): Promise<void> {
    clock = at;
    const handled = new Promise<void>((resolve) => {
      handledOne = resolve;
    });
    await pub.publishAsync(`slopeguard/v1/ord/${gateway}/event`, JSON.stringify(event), { qos: 1 });
    await handled;
  }

  const last = () => view.summary('ord')?.lastEvent;
  const stale = async () =>
    (await metrics.getSingleMetric('slopeguard_center_stale_events_total')?.get())?.values[0]?.value ?? 0;

  it('keeps the recovery when the fault before it comes again', async () => {
    await send('gw-1', health(T0 + 1000, 'down'), T0 + 1100);
    await send('gw-1', health(T0 + 2000, 'ok'), T0 + 2100);
    expect(last()).toMatchObject({ gateway: 'gw-1', state: 'ok', ts: T0 + 2000 });
    // The fault again (its PUBACK was lost before the gateway restarted).
    await send('gw-1', health(T0 + 1000, 'down'), T0 + 3000);
    expect(last()).toMatchObject({ state: 'ok', ts: T0 + 2000 });
    expect(await stale()).toBe(1);
    // A newer event still replaces it.
    await send('gw-1', health(T0 + 4000, 'down'), T0 + 4100);
    expect(last()).toMatchObject({ state: 'down', ts: T0 + 4000 });
  });

  it('does not let an event from a clock far ahead hide the next ones', async () => {
    // gw-2's clock is a day ahead for one event, then right again.
    await send('gw-2', health(T0 + 86_400_000, 'down'), T0 + 5000);
    expect(last()).toMatchObject({ gateway: 'gw-2', state: 'down' });
    await send('gw-2', health(T0 + 6000, 'ok'), T0 + 6100);
    expect(last()).toMatchObject({ gateway: 'gw-2', state: 'ok', ts: T0 + 6000 });
  });

  it('between gateways (two clocks), the one that came last is shown', async () => {
    // gw-3's clock is a minute behind: its newer event has an older ts than gw-2's last.
    await send('gw-3', health(T0 + 7000 - 60_000, 'down'), T0 + 7100);
    expect(last()).toMatchObject({ gateway: 'gw-3', state: 'down' });
  });
});
