import type { GatewayEvent, Reading, SiteLevel, Status } from '@slopeguard/core';
import type { Alert } from './alerts/alert-store.ts';
import type { CommandRecord } from './commands/command-service.ts';
import type { OverviewSite } from './live-view.ts';
import type { SiteData } from './site-monitor.ts';

/**
 * What the control center sends to dashboards over socket.io (docs/control-center.md, "Live
 * push"). Shared with the web client as types only. Every browser gets one `live` batch per
 * second at most, holding what changed on every site in that second; the browser that has a site's
 * page open also gets that site's readings (`readings`), once a second at most.
 */

/** Server -> browser, on (re)connection: every site as the overview shows it (no sensors). */
export const SNAPSHOT_EVENT = 'snapshot';
/** Server -> every browser, at most once per window: a LiveBatch. */
export const LIVE_EVENT = 'live';
/** Server -> the browsers watching one site, at most once per window: a SiteReadings. */
export const READINGS_EVENT = 'readings';
/** Server -> one browser, answering `watch`: the site's full summary (its sensors' latest readings). */
export const SITE_EVENT = 'site';
/**
 * Browser -> server: the site whose page is open (a site id), or null for none; an optional
 * acknowledgement callback gets whether it was taken (false: not a site id).
 */
export const WATCH_EVENT = 'watch';

/** The room of a site's watchers (socket.io rooms: one serialization for all of them). */
export const siteRoom = (site: string) => `site:${site}`;

/** A gateway's latest status in the window, and when the control center received it. */
export interface GatewayUpdate {
  id: string;
  state: Status['state'];
  at: number;
}

/** One site's changes in one window. Absent fields did not change. */
export interface SiteUpdate {
  site: string;
  /** Every official level the site went through in the window, in order; the last one is current. */
  levels?: SiteLevel[];
  data?: SiteData;
  gateways?: GatewayUpdate[];
  /** The newest reading time of the window (the site's age on the overview). */
  lastReadingTs?: number;
  alerts?: Alert[];
  commands?: CommandRecord[];
  events?: Array<GatewayEvent & { gateway: string }>;
}

export interface LiveBatch {
  /** When the window closed (server clock). */
  ts: number;
  sites: SiteUpdate[];
}

/** Every reading of one site in one window, for the charts of its open page. */
export interface SiteReadings {
  site: string;
  ts: number;
  messages: Array<{ gateway: string; readings: Reading[] }>;
  /** Readings left out, the oldest, because the window held more than the bound (MAX_READINGS). */
  dropped?: number;
}

/** The snapshot's site: what the overview shows (no sensors, gateways as id, state, last seen). */
export type SnapshotSite = OverviewSite & { position?: [number, number] };
