import { DatabaseSync } from 'node:sqlite';
import {
  LIVE_EVENT,
  type LiveBatch,
  READINGS_EVENT,
  SITE_EVENT,
  type SiteReadings,
  WATCH_EVENT,
} from '@slopeguard/control-center/realtime-wire.ts';
import { signInTo } from '@slopeguard/control-center/sign-in-client.ts';
import { gatewayTopic, type Reading, type Telemetry } from '@slopeguard/core';
import mqtt from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../demo/stack.ts';
import { demoBed } from './demo-bed.ts';

/**
 * The walking skeleton end to end, with every part real: gateway agents (edge, durable queue, simulated sensors) ->
 * Aedes broker -> recorder -> SQLite file; broker -> control center (MQTT client) -> socket.io
 * client and REST API.
 */
describe('demo stack end to end', () => {
  const bed = demoBed('demo', { sites: 3, intervalMs: 0 });
  let stack: DemoStack;
  let socket: Socket;
  let auth: { cookie: string } = { cookie: '' };
  /** Sites in the one-a-second batches with a reading time, and demo-a's readings from its room. */
  const seen = new Map<string, number>();
  const watched: Reading[] = [];

  beforeAll(async () => {
    stack = await bed.start();
    const { cookie } = await signInTo(stack.dashboardUrl, stack.admin.username, stack.admin.password);
    auth = { cookie };
    socket = io(stack.dashboardUrl, { transports: ['websocket'], extraHeaders: auth });
    socket.on(LIVE_EVENT, (b: LiveBatch) => {
      for (const u of b.sites) if (u.lastReadingTs !== undefined) seen.set(u.site, u.lastReadingTs);
    });
    socket.on(READINGS_EVENT, (r: SiteReadings) => {
      for (const m of r.messages) watched.push(...m.readings);
    });
    const site = new Promise<void>((resolve) => socket.once(SITE_EVENT, () => resolve()));
    await new Promise<void>((resolve, reject) => {
      socket.on('connect', () => resolve());
      socket.on('connect_error', reject);
    });
    // demo-a's page is "open": its readings come in full (the other sites' only as a time).
    socket.emit(WATCH_EVENT, 'demo-a');
    await site;
  });

  afterAll(async () => {
    socket?.close();
    await bed.close();
  });

  const waitFor = async (cond: () => boolean, what: string, ms = 10_000) => {
    const until = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('carries readings from each gateway to SQLite, socket.io and the REST API', async () => {
    const sent: Telemetry[] = [];
    for (const gw of stack.gateways) sent.push(await gw.publishOnce());
    const expected = sent.reduce((n, t) => n + t.readings.length, 0);

    // PUBACK came back for every message, so the recorder must already have them on disk.
    expect(await stack.store.count()).toBe(expected);

    const newest = (t: Telemetry | undefined) => Math.max(...(t?.readings ?? []).map((r) => r.ts));
    await waitFor(
      () => ['demo-a', 'demo-b', 'demo-c'].every((id, i) => seen.get(id) === newest(sent[i])),
      'socket.io live batches',
    );
    await waitFor(() => watched.length >= (sent[0]?.readings.length ?? 1), 'socket.io readings');
    expect(watched).toEqual(sent[0]?.readings);

    const res = await fetch(`${stack.dashboardUrl}api/v1/sites`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      sites: Array<{ id: string; sensors: Array<{ sensor: string; ts: number }> }>;
    };
    expect(body.sites.map((s) => s.id)).toEqual(['demo-a', 'demo-b', 'demo-c']);
    for (const s of body.sites) {
      expect(s.sensors.map((x) => x.sensor).sort()).toEqual(['rain-1', 'tilt-1']);
    }
  });

  it("runs the alert engine per site and publishes each site's official level (retained)", async () => {
    const levels = async () => {
      const res = await fetch(`${stack.dashboardUrl}api/v1/sites`, { headers: auth });
      return ((await res.json()) as { sites: Array<{ id: string; level: { level: number } | null }> }).sites;
    };
    let sites = await levels();
    const until = Date.now() + 10_000;
    while (sites.some((s) => s.level === null) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      sites = await levels();
    }
    expect(sites.map((s) => s.level?.level)).toEqual([0, 0, 0]);
    // A client that connects later gets the level at once, as a retained message.
    const observer = await mqtt.connectAsync(stack.mqttUrl, { ...stack.observer, clientId: 'observer-e2e' });
    const got = new Promise<string>((resolve) => observer.on('message', (topic) => resolve(topic)));
    await observer.subscribeAsync('slopeguard/v1/demo-b/level', { qos: 1 });
    expect(await got).toBe('slopeguard/v1/demo-b/level');
    await observer.endAsync();
  });

  it('counts a non-JSON and a schema-breaking payload, and keeps the good readings flowing', async () => {
    const before = await stack.store.count();
    const metricValue = async (reason: string) => {
      const text = await (await fetch(`${stack.dashboardUrl}metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('slopeguard_broker_rejected_total') && l.includes(`reason="${reason}"`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    // The demo-a gateway's own account on a second connection: authenticated and authorised, but
    // sending garbage, as a gateway with broken firmware would.
    const rogue = await mqtt.connectAsync(stack.mqttUrl, {
      ...stack.gatewayAccounts.get('demo-a'),
      clientId: 'demo-a.gw-1-rogue',
      reconnectPeriod: 0,
    });
    const topic = gatewayTopic('demo-a', 'gw-1', 'telemetry');
    await rogue.publishAsync(topic, 'this is not json', { qos: 1 });
    await rogue.publishAsync(
      topic,
      JSON.stringify({ seq: 1, readings: [{ sensor: 'tilt-1', kind: 'tilt', ts: 1, values: {} }] }),
      { qos: 1 },
    );
    await rogue.endAsync();

    expect(await metricValue('not_json')).toBe(1);
    expect(await metricValue('schema')).toBe(1);
    expect(await stack.store.count()).toBe(before);

    const t = await stack.gateways[1]?.publishOnce();
    expect(t).toBeDefined();
    const newest = Math.max(...(t?.readings ?? []).map((r) => r.ts));
    await waitFor(() => seen.get('demo-b') === newest, 'telemetry after the bad payloads');
    expect(await stack.store.count()).toBe(before + (t?.readings.length ?? 0));
  });

  it('leaves every acknowledged reading in the SQLite file after a clean shutdown', async () => {
    let acked = 0;
    for (const gw of stack.gateways) {
      for (let i = 0; i < 5; i++) acked += (await gw.publishOnce()).readings.length;
    }
    const stored = await stack.store.count();
    await stack.close();
    // Read as any other reader of the file would: the store's view of its two levels.
    const db = new DatabaseSync(stack.dbPath, { readOnly: true });
    const total = (db.prepare('SELECT count(*) AS n FROM all_readings').get() as { n: number }).n;
    db.close();
    expect(total).toBe(stored);
    expect(stored).toBeGreaterThanOrEqual(acked);
    stack = undefined as unknown as DemoStack;
  });
});
