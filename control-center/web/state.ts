/**
 * What the page knows about every site, fed by the socket.io snapshot and live events. Views
 * subscribe and are re-rendered at most once per animation frame.
 */

import type { LiveBatch, SiteReadings, SnapshotSite } from '@slopeguard/control-center/realtime-wire.ts';
import type { Reading, SiteLevel } from '@slopeguard/core';

export interface SiteData {
  state: 'live' | 'degraded' | 'no_data';
  reasons: string[];
  since: number;
}
export interface GatewayView {
  id: string;
  state: string;
  lastSeen?: number;
}
export interface SensorView extends Reading {
  gateway: string;
}
export interface SiteSummary {
  id: string;
  level: SiteLevel | null;
  data: SiteData | null;
  lastReadingTs: number | null;
  gateways: GatewayView[];
  sensors: SensorView[];
  /** [lat, lon] from the site file; absent when the site file gives none. */
  position?: [number, number];
}

/** The visible state of a site: its level, and whether that level can be trusted. */
export type Condition = 'ok' | 'degraded' | 'no_data' | 'offline' | 'unset';

export function conditionOf(s: SiteSummary): Condition {
  if (s.data?.state === 'no_data') return 'no_data';
  if (s.gateways.length > 0 && s.gateways.every((g) => g.state === 'offline')) return 'offline';
  if (s.gateways.some((g) => g.state === 'offline')) return 'degraded';
  if (s.data?.state === 'degraded') return 'degraded';
  if (!s.level) return 'unset';
  return 'ok';
}

/** When the site last changed level or data state, for sorting by "last change". */
export function lastChange(s: SiteSummary): number {
  return Math.max(s.level?.ts ?? 0, s.data?.since ?? 0);
}

export const sites = new Map<string, SiteSummary>();
/**
 * Live readings of the site whose page is open (its charts append them to the history loaded from
 * the readings API), bounded. Only that site's: keeping every site's readings would hold millions
 * of objects after an hour with 1,000 sites.
 */
export const history = new Map<string, Reading[]>();
const HISTORY_MAX = 20_000;
let watched: string | null = null;

const watchers = new Set<(site: string | null) => void>();

/** The site whose live readings are kept (null: none); the live connection asks the server for them. */
export function watch(site: string | null): void {
  if (site === watched) return;
  watched = site;
  history.clear();
  for (const f of watchers) f(site);
}

export function watchedSite(): string | null {
  return watched;
}

/** Called with the watched site whenever it changes (live.ts joins the site's room on the server). */
export function onWatch(f: (site: string | null) => void): void {
  watchers.add(f);
}

export function site(id: string): SiteSummary {
  let s = sites.get(id);
  if (!s) {
    s = { id, level: null, data: null, lastReadingTs: null, gateways: [], sensors: [] };
    sites.set(id, s);
  }
  return s;
}

export function addReadings(siteId: string, gateway: string, readings: readonly Reading[]): void {
  const s = site(siteId);
  const h = siteId === watched ? (history.get(siteId) ?? []) : null;
  for (const r of readings) {
    const i = s.sensors.findIndex((x) => x.sensor === r.sensor);
    const v = { ...r, gateway };
    if (i < 0) s.sensors.push(v);
    else if ((s.sensors[i]?.ts ?? 0) <= r.ts) s.sensors[i] = v;
    h?.push(r);
    s.lastReadingTs = Math.max(s.lastReadingTs ?? 0, r.ts);
  }
  if (h) {
    if (h.length > HISTORY_MAX) h.splice(0, h.length - HISTORY_MAX);
    history.set(siteId, h);
  }
  s.sensors.sort((a, b) => (a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0));
}

const subscribers = new Set<() => void>();
let pending = false;
export function subscribe(f: () => void): () => void {
  subscribers.add(f);
  return () => subscribers.delete(f);
}
/**
 * Coalesces many events into one render, at most every RENDER_EVERY_MS and on an animation frame:
 * with 1,000 sites each sending every second, rendering per event (or per frame) would keep the
 * main thread busy; four renders a second are more than a person reads.
 */
const RENDER_EVERY_MS = 250;
let lastRender = 0;
export function changed(): void {
  if (pending) return;
  pending = true;
  setTimeout(
    () =>
      requestAnimationFrame(() => {
        pending = false;
        lastRender = performance.now();
        for (const f of subscribers) f();
      }),
    Math.max(0, lastRender + RENDER_EVERY_MS - performance.now()),
  );
}

/**
 * A fresh snapshot after every (re)connection: nothing missed while the page was not live stays.
 * The snapshot carries no sensors (the overview shows none): a site keeps the ones it had, and the
 * open site's come with the `site` answer to `watch`.
 */
export function applySnapshot(list: readonly SnapshotSite[]): void {
  for (const s of list) {
    const old = sites.get(s.id);
    sites.set(s.id, { ...s, sensors: old?.sensors ?? [] } as SiteSummary);
  }
  changed();
}

/** The open site's full summary (its sensors' latest readings), answering `watch`. */
export function applySite(s: SiteSummary): void {
  const old = sites.get(s.id);
  sites.set(s.id, old?.position ? { ...s, position: old.position } : s);
  changed();
}

/**
 * One second of changes on every site. Returns whether an alert changed (the inbox reloads then).
 */
export function applyBatch(b: LiveBatch): { alerts: boolean } {
  let alerts = false;
  for (const u of b.sites) {
    const s = site(u.site);
    const level = u.levels?.at(-1);
    if (level) s.level = level;
    if (u.data) s.data = u.data;
    for (const g of u.gateways ?? []) {
      const had = s.gateways.find((x) => x.id === g.id);
      if (had) {
        had.state = g.state;
        had.lastSeen = g.at;
      } else s.gateways.push({ id: g.id, state: g.state, lastSeen: g.at });
    }
    if (u.lastReadingTs !== undefined) s.lastReadingTs = Math.max(s.lastReadingTs ?? 0, u.lastReadingTs);
    if (u.alerts?.length) alerts = true;
  }
  if (b.sites.length > 0) changed();
  return { alerts };
}

/** Every reading of the watched site in one second, for its charts and its table of latest values. */
export function applyReadings(r: SiteReadings): void {
  if (r.site !== watched) return;
  for (const m of r.messages) addReadings(r.site, m.gateway, m.readings);
  changed();
}
