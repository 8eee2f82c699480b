/**
 * What the page knows about every site, fed by the socket.io snapshot and live events. Views
 * subscribe and are re-rendered at most once per animation frame.
 */
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

/** The site whose live readings are kept (null: none). */
export function watch(site: string | null): void {
  if (site === watched) return;
  watched = site;
  history.clear();
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
