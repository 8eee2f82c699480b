/**
 * One site: its level and the reasons in plain words, gateway and sensor health, charts of the last
 * 24 h continued live (site-charts.ts), the alert history with the notifications sent about each
 * alert, and gateway commands for operators.
 */
import type { SiteLevel } from '@slopeguard/core';
import * as api from './api.ts';
import { backtestLink } from './backtest-i18n.ts';
import { el } from './dom.ts';
import { levelName, t, time } from './i18n.ts';
import { badge } from './levels.ts';
import { alertNotifications, notificationTable } from './notifications.ts';
import { appendLive, type ChartSet, createChartSet, fromRange, type Series } from './site-charts.ts';
import { history, type SiteSummary } from './state.ts';

type Reason = SiteLevel['reasons'][number];

/** A level reason as a sentence an official reads at 3 a.m. */
export function reasonWords(r: Reason): string {
  const parts: string[] = [];
  if (r.rule === 'manual') parts.push(`${levelName(r.level ?? 0)} — ${r.operator ?? ''}: ${r.text ?? ''}`);
  else {
    parts.push(r.rule.replaceAll('_', ' '));
    if (r.sensor) parts.push(`(${r.sensor})`);
    if (r.value !== undefined && r.threshold !== undefined)
      parts.push(`${r.value} ≥ ${r.threshold}${r.window ? ` / ${r.window}` : ''}`);
    if (r.level !== undefined) parts.push(`→ ${levelName(r.level)}`);
    if (r.text) parts.push(`— ${r.text}`);
  }
  return parts.join(' ');
}

/** The level, reasons, health and latest values: rebuilt on every change (cheap). */
export function renderSiteInfo(root: HTMLElement, s: SiteSummary | undefined, id: string): void {
  root.replaceChildren();
  root.append(el('p', {}, el('a', { text: `← ${t('back')}`, attrs: { href: '#/' } })));
  if (!s) {
    root.append(el('h2', { text: id }), el('p', { text: t('noData') }));
    return;
  }
  const head = el('h2', { text: `${s.id} ` });
  head.append(badge(s));
  root.append(head);
  const reasons = el('ul', { cls: 'reasons' });
  for (const r of s.data?.state === 'live' ? [] : (s.data?.reasons ?? []))
    reasons.append(el('li', { text: r }));
  for (const r of s.level?.reasons ?? []) reasons.append(el('li', { text: reasonWords(r) }));
  root.append(el('h3', { text: t('reasons') }), reasons);
  root.append(el('h3', { text: t('health') }));
  const gw = el('ul', { cls: 'gw' });
  for (const g of s.gateways) {
    const word = g.state === 'online' ? t('online') : g.state === 'offline' ? t('offline') : t('unknown');
    const li = el('li', { text: `${g.id}: ${word} · ${time(g.lastSeen)}` });
    li.dataset.state = g.state;
    gw.append(li);
  }
  root.append(gw);
  const table = el(
    'table',
    { cls: 'sensors' },
    el(
      'tr',
      {},
      el('th', { text: t('sensor') }),
      el('th', { text: t('value') }),
      el('th', { text: t('age') }),
    ),
  );
  const now = Date.now();
  for (const r of s.sensors) {
    const row = el('tr');
    row.dataset.sensor = r.sensor;
    const values = Object.entries(r.values)
      .map(([k, v]) => `${k} ${Number(v).toFixed(r.kind === 'tilt' ? 4 : 1)}`)
      .join('  ');
    const age = Math.max(0, Math.round((now - r.ts) / 1000));
    row.append(el('td', { text: `${r.sensor} (${r.kind})` }), el('td', { text: values }));
    row.append(el('td', { text: `${age} s`, cls: now - r.ts > 180_000 ? 'stale' : '' }));
    table.append(row);
  }
  root.append(table);
}

const DAY = 24 * 3_600_000;
/** Health, gateways and alerts are re-read this often while the page is open (charts are live). */
const REFRESH_MS = 10_000;

export interface SitePage {
  readonly site: string;
  /** New live readings or state: append to the charts. */
  update(): void;
  close(): void;
}

/**
 * Opens a site's page: loads rules, the last 24 h of every sensor, health, gateways, alerts and
 * commands, then keeps the charts live. `role` decides whether the command form is shown (the
 * server checks it anyway).
 */
export function openSitePage(root: HTMLElement, id: string, role: string): SitePage {
  const note = el('p', { cls: 'note', text: t('chartsSince') });
  const chartsBox = el('div', { cls: 'charts' });
  const sensorsBox = el('div', { cls: 'sensor-health' });
  const gwBox = el('div', { cls: 'gw-health' });
  const alertsBox = el('div', { cls: 'alert-history' });
  const report = el('a', {
    text: t('report'),
    cls: 'report-link',
    attrs: { href: `#/report/${encodeURIComponent(id)}` },
  });
  root.replaceChildren(
    el('p', {}, report, document.createTextNode(' · '), backtestLink(id)),
    note,
    chartsBox,
    el('h3', { text: t('sensorHealth') }),
    sensorsBox,
    el('h3', { text: t('commands') }),
    gwBox,
    el('h3', { text: t('alertHistory') }),
    alertsBox,
  );
  let closed = false;
  let series: Series[] = [];
  let charts: ChartSet | null = null;
  let health: api.SiteHealth | null = null;

  const draw = () => {
    if (closed || !charts) return;
    const live = history.get(id) ?? [];
    // A sensor heard live but absent from the site file and history still gets its chart.
    for (const r of live) {
      if (!series.some((x) => x.id === r.sensor))
        series.push({ id: r.sensor, kind: r.kind, ts: [], fields: {}, sum: [], loadedTo: 0 });
    }
    for (const sr of series) appendLive(sr, live);
    charts.update(series, health);
  };

  const refresh = async () => {
    const [h, gws, alerts] = await Promise.allSettled([
      api.siteHealth(id),
      api.gateways(),
      api.siteAlerts(id),
    ]);
    if (closed) return;
    if (h.status === 'fulfilled') {
      health = h.value;
      renderSensorHealth(sensorsBox, h.value);
    }
    if (gws.status === 'fulfilled')
      renderGateways(
        gwBox,
        id,
        gws.value.gateways.filter((g) => g.site === id),
        role,
      );
    if (alerts.status === 'fulfilled') await renderAlertHistory(alertsBox, alerts.value.alerts);
    if (closed) return;
    draw();
  };

  void (async () => {
    const rules = await api.siteRules(id).catch(() => null);
    const to = Date.now();
    const sensors = rules?.sensors ?? [];
    const loaded = await Promise.allSettled(
      sensors.map(async (s) => fromRange(s.id, s.kind, await api.readings(id, s.id, to - DAY, to, 500))),
    );
    if (closed) return;
    series = loaded.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // The sensors whose history came from the readings API (tests tell history from live by it).
    chartsBox.dataset.history = series
      .filter((s) => s.ts.length > 0)
      .map((s) => s.id)
      .join(' ');
    if (loaded.some((r) => r.status === 'rejected'))
      note.textContent = `${t('chartsSince')} — ${t('historyFailed')}`;
    // The last 24 h up to now, moving on as live readings arrive.
    charts = createChartSet(chartsBox, rules, () => [Date.now() - DAY, Date.now()]);
    await refresh();
  })();
  const timer = setInterval(() => void refresh(), REFRESH_MS);

  return {
    site: id,
    update: draw,
    close() {
      closed = true;
      clearInterval(timer);
      charts?.destroy();
    },
  };
}

function renderSensorHealth(box: HTMLElement, h: api.SiteHealth): void {
  const list = el('ul', { cls: 'sensor-states' });
  for (const [sensor, x] of Object.entries(h.engine?.sensors ?? {})) {
    const li = el('li', { text: `${sensor}: ${x.status} · ${time(x.lastTs)}` });
    li.dataset.sensor = sensor;
    li.dataset.status = x.status;
    if (!x.healthy) li.className = 'stale';
    list.append(li);
  }
  box.replaceChildren(list);
}

function renderGateways(box: HTMLElement, site: string, gws: api.GatewayHealth[], role: string): void {
  box.replaceChildren();
  for (const g of gws) {
    const sec = el('div', { cls: 'gw-card' });
    sec.dataset.gateway = g.id;
    const facts = [
      g.online ? t('online') : t('offline'),
      `${t('lastKnown')} ${time(g.lastSeen)}`,
      g.queueDepth !== null ? `queue ${g.queueDepth}` : '',
      g.supplyV !== null ? `${g.supplyV.toFixed(1)} V` : '',
      g.cpuTempC !== null ? `${g.cpuTempC.toFixed(0)} °C` : '',
      g.seqGaps ? `seq gaps ${g.seqGaps}` : '',
      g.clockFault ? 'clock fault' : '',
    ].filter(Boolean);
    const head = el('p', { text: `${g.id}: ${facts.join(' · ')}` });
    if (!g.online) head.className = 'stale';
    sec.append(head);
    if (role === 'operator' || role === 'admin') sec.append(commandForm(site, g.id));
    const list = el('ol', { cls: 'commands' });
    sec.append(list);
    void api.commands(site, g.id).then(
      (r) => {
        for (const c of r.commands.slice(-5).reverse()) {
          const li = el('li', {
            text: `${time(c.sent)} ${c.name} · ${c.actor} · ${c.status}${c.error ? ` (${c.error})` : ''}`,
          });
          li.dataset.status = c.status;
          list.append(li);
        }
      },
      () => undefined,
    );
    box.append(sec);
  }
}

function commandForm(site: string, gw: string): HTMLElement {
  const form = el('form', { cls: 'act act-command' });
  const sel = el('select', { attrs: { 'aria-label': t('commands') } });
  for (const n of ['health-report', 'test-siren', 'set-sampling-interval', 'reload-config'])
    sel.append(el('option', { text: n, attrs: { value: n } }));
  const ms = el('input', {
    attrs: { type: 'number', min: '1000', step: '1000', placeholder: 'ms', 'aria-label': 'ms' },
  });
  const msg = el('span', { cls: 'msg' });
  form.append(sel, ms, el('button', { text: t('send'), attrs: { type: 'submit' } }), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const args: Record<string, number> = {};
    if (sel.value === 'set-sampling-interval') args.ms = Number(ms.value);
    try {
      const c = await api.sendCommand(site, gw, sel.value, args);
      msg.className = 'acked';
      msg.textContent = `${c.name}: ${c.status}`;
    } catch (err) {
      msg.className = 'msg';
      msg.textContent = `${t('failed')}: ${err instanceof Error ? err.message : String(err)}`;
    }
  });
  return form;
}

/** Alerts whose notifications are listed on the page (the newest; older ones are in the report). */
const NOTIFIED_ALERTS = 5;

async function renderAlertHistory(box: HTMLElement, alerts: api.Alert[]): Promise<void> {
  const list = el('ol', { cls: 'alert-list' });
  const newest = [...alerts].sort((x, y) => y.opened - x.opened).slice(0, 20);
  // Fetched before the list is swapped in, so a refresh never shows an alert without its notices.
  const sent = await Promise.all(
    newest.slice(0, NOTIFIED_ALERTS).map((a) => alertNotifications(a.id).catch(() => null)),
  );
  newest.forEach((a, i) => {
    const li = el('li', {
      text: `${time(a.opened)} · ${a.maxLevel} ${levelName(a.maxLevel)} · ${a.dataState}${
        a.acknowledged ? ` · ${t('acked')} ${a.ackBy ?? ''}` : ''
      }${a.cleared ? ` · ${time(a.cleared)}` : ''}`,
    });
    li.dataset.alert = String(a.id);
    const n = sent[i];
    if (n)
      li.append(
        el(
          'div',
          { cls: 'alert-notifications' },
          el('strong', { text: t('notifications') }),
          notificationTable(n.notifications),
        ),
      );
    list.append(li);
  });
  box.replaceChildren(list);
  if (sent.some((n) => n?.addresses === 'masked'))
    box.append(el('p', { cls: 'note', text: t('notifyMasked') }));
}
