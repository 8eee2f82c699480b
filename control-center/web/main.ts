/**
 * The live dashboard: one card per site with its official level, its gateways and the latest value
 * of each sensor. Everything is rendered with textContent (never innerHTML of received data).
 */
import type { Reading, SiteLevel, Status, Telemetry } from '@slopeguard/core';
// Only the level names, not the core index: it compiles validators with new Function(), which the
// Content-Security-Policy (no 'unsafe-eval') rightly refuses in the browser.
import { LEVEL_NAMES, type Level } from '@slopeguard/core/levels.ts';
import { io } from 'socket.io-client';

interface SensorView extends Reading {
  gateway: string;
}
interface GatewayView {
  id: string;
  state: string;
  lastSeen?: number;
}
interface SiteData {
  state: 'live' | 'degraded' | 'no_data';
  reasons: string[];
  since: number;
}
interface SiteSummary {
  id: string;
  level: SiteLevel | null;
  data: SiteData | null;
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

/** A silent site never shows a bare level: "no data" first, the last known level after it. */
function badgeText(s: SiteSummary): string {
  if (s.data?.state === 'no_data') return `데이터 없음 · No data (마지막 last: ${levelText(s.level)})`;
  if (s.data?.state === 'degraded') return `${levelText(s.level)} · 일부 장애 degraded`;
  return levelText(s.level);
}

function renderSite(s: SiteSummary, now: number): HTMLElement {
  const noData = s.data?.state === 'no_data';
  const card = el('section', undefined, `site lv${noData ? 'nodata' : (s.level?.level ?? 'x')}`);
  card.dataset.site = s.id;
  card.dataset.state = s.data?.state ?? 'unknown';
  const h = el('h2', s.id);
  h.append(el('span', badgeText(s), 'level'));
  card.append(h);
  for (const r of s.data?.state === 'live' ? [] : (s.data?.reasons ?? []))
    card.append(el('div', r, 'reason'));
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
    s = { id, level: null, data: null, lastReadingTs: null, gateways: [], sensors: [] };
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

// Sign-in: the session cookie is HttpOnly (set by the server); the socket connects only once it exists.
const form = document.getElementById('signin') as HTMLFormElement;
const formError = document.getElementById('signin-error') as HTMLElement;
const socket = io({ transports: ['websocket'], autoConnect: false });

function showSignIn(message = ''): void {
  form.hidden = false;
  formError.textContent = message;
  conn.textContent = '로그인 필요 · Sign in required';
  conn.className = 'conn down';
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  const res = await fetch('/api/v1/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: data.get('username'), password: data.get('password') }),
  });
  if (res.status === 200) {
    form.hidden = true;
    form.reset();
    socket.connect();
    return;
  }
  showSignIn(
    res.status === 429
      ? '시도가 너무 많습니다. 잠시 후 다시 · Too many attempts; wait and retry'
      : '사용자 또는 비밀번호가 틀립니다 · Wrong user or password',
  );
});

void fetch('/api/v1/session').then((res) => (res.status === 200 ? socket.connect() : showSignIn()));
socket.on('connect_error', () => {
  // The server refuses a handshake without a valid session (expired, signed out, disabled).
  void fetch('/api/v1/session').then((res) => {
    if (res.status !== 200) showSignIn();
  });
});
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
socket.on('site-data', (e: { site: string; data: SiteData }) => {
  site(e.site).data = e.data;
  schedule();
});
setInterval(schedule, 1000);
