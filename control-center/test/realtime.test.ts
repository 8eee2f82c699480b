import { join } from 'node:path';
import { gatewayTopic, type Reading } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import type { SiteSummary } from '../src/live-view.ts';
import {
  LIVE_EVENT,
  type LiveBatch,
  READINGS_EVENT,
  SITE_EVENT,
  type SiteReadings,
  SNAPSHOT_EVENT,
  type SnapshotSite,
  WATCH_EVENT,
} from '../src/realtime-wire.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10 ("socket.io pushes ... throttled to at most one update per site per second"), through a
 * real control center, Debian's mosquitto and a socket.io client: every site's changes arrive in
 * one `live` event per window, readings only as a newest time; the site a browser watches comes
 * with all its readings; a watch request that is not a site id is refused and the socket stays.
 * The window timing itself is tested on a fake clock (realtime-throttle.test.ts).
 */
const SITES = ['slope-a', 'slope-b', 'slope-c'];

describe('live push: one batch per window, readings for the watched site', () => {
  const bed = centerBed('rt', { readings: false });
  let center: ControlCenter;
  let gw: MqttClient;
  let viewer: SignedIn;
  let socket: Socket;
  let snapshot: SnapshotSite[] = [];
  const batches: Array<{ at: number; batch: LiveBatch }> = [];
  const readings: SiteReadings[] = [];
  const seq = new Map<string, number>();

  const tilt = (ts: number, k: number): Reading[] => [
    { sensor: 'tilt-1', kind: 'tilt', ts, values: { x: 0.1 + k * 1e-5, y: -0.2 } },
    { sensor: 'tilt-2', kind: 'tilt', ts, values: { x: 0.3, y: 0.1 + k * 1e-5 } },
  ];
  const send = (site: string, rs: Reading[]) => {
    const n = (seq.get(site) ?? 0) + 1;
    seq.set(site, n);
    return gw.publishAsync(
      gatewayTopic(site, 'gw-1', 'telemetry'),
      JSON.stringify({ seq: n, readings: rs }),
      {
        qos: 1,
      },
    );
  };
  const newest = (site: string) => {
    let ts: number | undefined;
    for (const b of batches) for (const u of b.batch.sites) if (u.site === site) ts = u.lastReadingTs ?? ts;
    return ts;
  };

  beforeAll(async () => {
    center = await bed.start({
      db: { path: join(bed.dir, 'cc.sqlite') },
      sites: {
        configs: new Map(
          SITES.map((id) => [
            id,
            siteConfig({
              id,
              sensors: [
                { id: 'tilt-1', kind: 'tilt', intervalMs: 1000 },
                { id: 'tilt-2', kind: 'tilt', intervalMs: 1000 },
              ],
            }),
          ]),
        ),
      },
      tickMs: 3_600_000,
    });
    viewer = await signIn(center, 'viewer');
    gw = await mqtt.connectAsync(bed.broker.url, { clientId: 'rt-gateways' });
    // Every site known (and in the snapshot) before the browser connects.
    const t0 = Date.now();
    for (const s of SITES) await send(s, tilt(t0, 0));
    await vi.waitFor(() => expect(center.view.list()).toHaveLength(SITES.length), { timeout: 10_000 });
    socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: viewer.cookie },
    });
    socket.on(LIVE_EVENT, (batch: LiveBatch) => batches.push({ at: Date.now(), batch }));
    socket.on(READINGS_EVENT, (r: SiteReadings) => readings.push(r));
    snapshot = await new Promise<SnapshotSite[]>((resolve, reject) => {
      socket.on(SNAPSHOT_EVENT, resolve);
      socket.on('connect_error', reject);
    });
  });
  afterAll(async () => {
    socket?.close();
    await gw?.endAsync();
    await bed.close();
  });

  it('gives a snapshot of every site as the overview shows it, without sensors', () => {
    expect(snapshot.map((s) => s.id)).toEqual(SITES);
    for (const s of snapshot) {
      expect(s).not.toHaveProperty('sensors');
      // Each gateway as the overview shows it; its health is on the site page (gateways API).
      expect(s.gateways).toEqual([{ id: 'gw-1', state: 'unknown', lastSeen: expect.any(Number) }]);
      expect(s).not.toHaveProperty('lastEvent');
    }
  });

  it('sends every site changing at once in one event per window, with the newest reading time only', async () => {
    batches.length = 0;
    const started = Date.now();
    let last = 0;
    for (let k = 1; k <= 10; k++) {
      last = Date.now() + k;
      await Promise.all(SITES.map((s) => send(s, tilt(last, k))));
    }
    await vi.waitFor(() => expect(SITES.map(newest)).toEqual(SITES.map(() => last)), { timeout: 10_000 });
    const elapsed = Date.now() - started;
    // 30 telemetry messages (and the level and data states they cause) in at most one event per
    // started second, and no site twice in one event.
    expect(batches.length).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 1);
    for (const { batch } of batches) {
      const ids = batch.sites.map((u) => u.site);
      expect(new Set(ids).size).toBe(ids.length);
      for (const u of batch.sites) expect(u).not.toHaveProperty('readings');
    }
    // Nobody watches a site yet: no readings event at all.
    expect(readings).toEqual([]);
  });

  it('sends the watched site its summary and then all its readings, and nothing of other sites', async () => {
    const site = new Promise<SiteSummary>((resolve) => socket.once(SITE_EVENT, resolve));
    socket.emit(WATCH_EVENT, 'slope-b');
    const summary = await site;
    expect(summary.id).toBe('slope-b');
    expect(summary.sensors.map((s) => s.sensor)).toEqual(['tilt-1', 'tilt-2']);

    const sent: Reading[] = [];
    for (let k = 11; k <= 15; k++) {
      const ts = Date.now() + k;
      const rs = tilt(ts, k);
      sent.push(...rs);
      await Promise.all(SITES.map((s) => send(s, s === 'slope-b' ? rs : tilt(ts, k))));
    }
    const got = () => readings.flatMap((r) => r.messages.flatMap((m) => m.readings));
    await vi.waitFor(() => expect(got()).toHaveLength(sent.length), { timeout: 10_000 });
    expect(got()).toEqual(sent);
    expect(new Set(readings.map((r) => r.site))).toEqual(new Set(['slope-b']));

    // Closing the page (watch null) stops them.
    expect(await socket.emitWithAck(WATCH_EVENT, null)).toBe(true);
    readings.length = 0;
    const ts = Date.now() + 100;
    await send('slope-b', tilt(ts, 16));
    await vi.waitFor(() => expect(newest('slope-b')).toBe(ts), { timeout: 10_000 });
    expect(readings).toEqual([]);
  });

  it('refuses a watch request that is not a site id, and keeps the connection', async () => {
    let answered = 0;
    socket.on(SITE_EVENT, () => answered++);
    for (const bad of [{ site: 'slope-a' }, '../slope-a', 'x'.repeat(500), 42, ['slope-a']])
      expect(await socket.emitWithAck(WATCH_EVENT, bad)).toBe(false);
    socket.emit(WATCH_EVENT, 'Slope-A'); // without an acknowledgement: refused all the same
    // A good one after the bad ones is answered: they were refused, not queued or fatal.
    const site = new Promise<SiteSummary>((resolve) => socket.once(SITE_EVENT, resolve));
    socket.emit(WATCH_EVENT, 'slope-c');
    expect((await site).id).toBe('slope-c');
    expect(answered).toBe(1);
    expect(socket.connected).toBe(true);
  });
});
