import type { GatewayEvent, Reading, SiteLevel, Status, Telemetry } from '@slopeguard/core';
import type { SiteData } from './site-monitor.ts';

/**
 * The control center's in-memory picture of every site, fed by the MQTT feed (and seeded from the
 * store at start-up). It holds only the latest of everything: history lives in the store.
 */
export interface SensorView extends Reading {
  gateway: string;
}

export interface GatewayView {
  id: string;
  state: Status['state'] | 'unknown';
  statusTs?: number;
  lastSeen?: number;
  lastSeq?: number;
  seqGaps: number;
  /** Readings refused because their time was too far ahead of the control center's clock. */
  futureReadings: number;
  /** When the last such reading came; the gateway's clock is shown faulty for a while after. */
  futureAt?: number;
  /** True while the gateway's clock is known to be wrong (its own check, or readings from the future). */
  clockFault: boolean;
  health?: Omit<Status, 'state' | 'ts'>;
}

export interface SiteSummary {
  id: string;
  /** The last known official level; read it together with `data` (never Normal while no_data). */
  level: SiteLevel | null;
  data: SiteData | null;
  lastReadingTs: number | null;
  gateways: GatewayView[];
  sensors: SensorView[];
  lastEvent?: GatewayEvent & { gateway: string };
}

/** A site in the overview (the socket.io snapshot): what the map and the list show. */
export interface OverviewSite {
  id: string;
  level: SiteLevel | null;
  data: SiteData | null;
  lastReadingTs: number | null;
  gateways: Array<Pick<GatewayView, 'id' | 'state' | 'lastSeen'>>;
}

interface SiteState {
  id: string;
  level: SiteLevel | null;
  data: SiteData | null;
  lastReadingTs: number | null;
  gateways: Map<string, GatewayView>;
  sensors: Map<string, SensorView>;
  lastEvent?: GatewayEvent & { gateway: string };
  /** Per gateway, when its last applied event happened (see applyEvent). */
  eventAt: Map<string, number>;
}

/** How long a gateway's clock shows faulty after its last reading from the future. */
const CLOCK_FAULT_HOLD_MS = 10 * 60_000;

export class LiveView {
  readonly #sites = new Map<string, SiteState>();

  #site(id: string): SiteState {
    let s = this.#sites.get(id);
    if (!s) {
      s = {
        id,
        level: null,
        data: null,
        lastReadingTs: null,
        gateways: new Map(),
        sensors: new Map(),
        eventAt: new Map(),
      };
      this.#sites.set(id, s);
    }
    return s;
  }

  #gateway(site: SiteState, id: string): GatewayView {
    let g = site.gateways.get(id);
    if (!g) {
      g = { id, state: 'unknown', seqGaps: 0, futureReadings: 0, clockFault: false };
      site.gateways.set(id, g);
    }
    return g;
  }

  /** Records readings, keeping per sensor only the newest (a late backlog never hides a fresh value). */
  applyReadings(site: string, gateway: string, readings: readonly Reading[], receivedAt: number): void {
    const s = this.#site(site);
    const g = this.#gateway(s, gateway);
    g.lastSeen = receivedAt;
    for (const r of readings) {
      const prev = s.sensors.get(r.sensor);
      if (!prev || prev.ts <= r.ts) s.sensors.set(r.sensor, { ...r, gateway });
      if (s.lastReadingTs === null || r.ts > s.lastReadingTs) s.lastReadingTs = r.ts;
    }
  }

  applyTelemetry(site: string, gateway: string, t: Telemetry, receivedAt: number): void {
    const g = this.#gateway(this.#site(site), gateway);
    // seq rises by one per message; a jump means messages we never saw (or a reset gateway).
    if (g.lastSeq !== undefined && t.seq > g.lastSeq + 1) g.seqGaps += t.seq - g.lastSeq - 1;
    if (g.lastSeq === undefined || t.seq > g.lastSeq) g.lastSeq = t.seq;
    this.applyReadings(site, gateway, t.readings, receivedAt);
  }

  applyStatus(site: string, gateway: string, status: Status, receivedAt: number): void {
    const g = this.#gateway(this.#site(site), gateway);
    const { state, ts, ...health } = status;
    g.state = state;
    g.statusTs = ts;
    g.lastSeen = receivedAt;
    g.health = health;
    g.clockFault = this.#clockFault(g, receivedAt);
  }

  /** Counts readings refused for a time ahead of the receiver's clock: the gateway's clock is wrong. */
  applyFutureReadings(site: string, gateway: string, count: number, receivedAt: number): void {
    const g = this.#gateway(this.#site(site), gateway);
    g.futureReadings += count;
    g.futureAt = receivedAt;
    g.lastSeen = receivedAt;
    g.clockFault = true;
  }

  #clockFault(g: GatewayView, now: number): boolean {
    if (g.health?.clock?.ok === false) return true;
    return g.futureAt !== undefined && now - g.futureAt < CLOCK_FAULT_HOLD_MS;
  }

  applyLevel(site: string, level: SiteLevel): void {
    this.#site(site).level = level;
  }

  applyData(site: string, data: SiteData): void {
    this.#site(site).data = data;
  }

  /**
   * Shows the event as the site's last one unless it is older than the last event shown from the
   * same gateway; returns whether it was shown. Events are queued on the gateway and delivered at
   * least once, so an old one can come again after a newer one (a resend after a lost PUBACK), and
   * a sensor fault must not replace its recovery. The time compared is the event's own `ts`, but
   * never later than when it arrived: one event stamped by a clock far ahead must not hide that
   * gateway's events for as long as its clock was wrong. Between gateways (two clocks), arrival
   * order decides. Statuses and levels are applied in arrival order on purpose: a will carries the
   * `ts` of its CONNECT and a restored level the time of the restart, both older than what they
   * must replace (docs/control-center.md#message-order).
   */
  applyEvent(site: string, gateway: string, event: GatewayEvent, receivedAt: number): boolean {
    const s = this.#site(site);
    const at = Math.min(event.ts, receivedAt);
    const last = s.eventAt.get(gateway);
    if (last !== undefined && at < last) return false;
    s.eventAt.set(gateway, at);
    s.lastEvent = { ...event, gateway };
    return true;
  }

  has(site: string): boolean {
    return this.#sites.has(site);
  }

  summary(site: string): SiteSummary | undefined {
    const s = this.#sites.get(site);
    if (!s) return undefined;
    const out: SiteSummary = {
      id: s.id,
      level: s.level,
      data: s.data,
      lastReadingTs: s.lastReadingTs,
      gateways: [...s.gateways.values()].sort((a, b) => a.id.localeCompare(b.id)),
      sensors: [...s.sensors.values()].sort((a, b) => a.sensor.localeCompare(b.sensor)),
    };
    if (s.lastEvent) out.lastEvent = s.lastEvent;
    return out;
  }

  /**
   * Every site as the overview (map, list) shows it, for the socket.io snapshot: no sensors (with
   * 1,000 sites of 20 sensors they were nine tenths of it), each gateway as its id, state and last
   * seen (its health is on the site page, from the gateways API), no last gateway event. A site's
   * page gets the full summary (`summary`) when it opens.
   */
  overview(): OverviewSite[] {
    const out: OverviewSite[] = [];
    for (const id of [...this.#sites.keys()].sort()) {
      const s = this.#sites.get(id) as SiteState;
      const gateways: OverviewSite['gateways'] = [];
      for (const g of s.gateways.values()) {
        const o: OverviewSite['gateways'][number] = { id: g.id, state: g.state };
        if (g.lastSeen !== undefined) o.lastSeen = g.lastSeen;
        gateways.push(o);
      }
      gateways.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      out.push({ id: s.id, level: s.level, data: s.data, lastReadingTs: s.lastReadingTs, gateways });
    }
    return out;
  }

  list(): SiteSummary[] {
    return [...this.#sites.keys()]
      .sort()
      .map((id) => this.summary(id))
      .filter((s): s is SiteSummary => s !== undefined);
  }
}
