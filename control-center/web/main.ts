/**
 * The live dashboard: one card per site with its official level, its gateways and the latest value
 * of each sensor. Everything is rendered with textContent (never innerHTML of received data).
 */
import {
  LEVEL_NAMES,
  type Level,
  type Reading,
  type SiteLevel,
  type Status,
  type Telemetry,
} from '@slopeguard/core';
import { io } from 'socket.io-client';

interface SensorView extends Reading {
  gateway: string;
}
interface GatewayView {
  id: string;
  state: string;
  lastSeen?: number;
}
interface SiteSummary {
  id: string;
  level: SiteLevel | null;
  lastReadingTs: number | null;
  gateways: GatewayView[];
  sensors: SensorView[];
}

/** A reading older than this is shown as stale: silence is never shown as normal. */
const STALE_MS = 10_000;

const sites = new Map<string, SiteSummary>();
const root = document.getElementById('sites') as HTMLElement;
const conn = document.getElementById('conn') as HTMLElement;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function formatValues(r: Reading): string {
  return Object.entries(r.values)
    .map(([k, v]) => `${k} ${Number(v).toFixed(r.kind === 'tilt' ? 4 : 1)}`)
    .join('  ');
}

function levelText(level: SiteLevel | null): string {
  if (!level) return '— 미정 · not set';
  const n = LEVEL_NAMES[level.level as Level];
  return `${level.level} ${n.ko} · ${n.en}`;
}

function renderSite(s: SiteSummary, now: number): HTMLElement {
  const card = el('section', undefined, `site lv${s.level?.level ?? 'x'}`);
  card.dataset.site = s.id;
  const h = el('h2', s.id);
  h.append(el('span', levelText(s.level), 'level'));
  card.append(h);
  for (const r of s.level?.reasons ?? []) {
    const parts = [
      r.rule,
      r.sensor,
      r.value === undefined ? undefined : `${r.value} ≥ ${r.threshold}`,
      r.window,
    ];
    card.append(el('div', parts.filter((p) => p !== undefined).join(' · '), 'reason'));
  }
  const gw = el('div', undefined, 'gw');
  for (const g of s.gateways) {
    const span = el(
      'span',
      `${g.id}: ${g.state === 'online' ? '온라인 online' : g.state === 'offline' ? '오프라인 offline' : g.state} `,
    );
    if (g.state === 'offline') span.className = 'offline';
    gw.append(span);
  }
  card.append(gw);
  const table = el('table');
  const head = el('tr');
  for (const t of ['센서 sensor', '값 value', '경과 age']) head.append(el('th', t));
  table.append(head);
  for (const r of s.sensors) {
    const row = el('tr');
    row.dataset.sensor = r.sensor;
    const age = Math.max(0, Math.round((now - r.ts) / 1000));
    row.append(el('td', `${r.sensor} (${r.kind})`), el('td', formatValues(r)));
    row.append(el('td', `${age} s`, now - r.ts > STALE_MS ? 'stale' : undefined));
    table.append(row);
  }
  card.append(table);
  return card;
}

function render(): void {
  const now = Date.now();
  root.replaceChildren(
    ...[...sites.values()].sort((a, b) => a.id.localeCompare(b.id)).map((s) => renderSite(s, now)),
  );
  const clock = document.getElementById('clock');
  if (clock) clock.textContent = new Date(now).toLocaleString('ko-KR');
}

function site(id: string): SiteSummary {
  let s = sites.get(id);
  if (!s) {
    s = { id, level: null, lastReadingTs: null, gateways: [], sensors: [] };
    sites.set(id, s);
  }
  return s;
}

let dirty = false;
function schedule(): void {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => {
    dirty = false;
    render();
  });
}

const socket = io({ transports: ['websocket'] });
socket.on('connect', () => {
  conn.textContent = '연결됨 · Live';
  conn.className = 'conn up';
});
socket.on('disconnect', () => {
  conn.textContent = '연결 끊김 · Disconnected';
  conn.className = 'conn down';
});
socket.on('snapshot', (list: SiteSummary[]) => {
  sites.clear();
  for (const s of list) sites.set(s.id, s);
  schedule();
});
socket.on('telemetry', (e: { site: string; gateway: string; message: Telemetry }) => {
  const s = site(e.site);
  for (const r of e.message.readings) {
    const i = s.sensors.findIndex((x) => x.sensor === r.sensor);
    const v = { ...r, gateway: e.gateway };
    if (i < 0) s.sensors.push(v);
    else if ((s.sensors[i]?.ts ?? 0) <= r.ts) s.sensors[i] = v;
  }
  s.sensors.sort((a, b) => a.sensor.localeCompare(b.sensor));
  schedule();
});
socket.on('status', (e: { site: string; gateway: string; message: Status }) => {
  const s = site(e.site);
  const g = s.gateways.find((x) => x.id === e.gateway);
  if (g) g.state = e.message.state;
  else s.gateways.push({ id: e.gateway, state: e.message.state });
  schedule();
});
socket.on('level', (e: { site: string; message: SiteLevel }) => {
  site(e.site).level = e.message;
  schedule();
});
setInterval(schedule, 1000);
