/**
 * One site: its level and the reasons in plain words, gateway and sensor health, and live charts
 * (uPlot) of tilt and of rain as a hyetograph with its cumulative curve. There is no readings
 * history API yet, so the charts draw the readings received over socket.io since the page was
 * opened, and say so.
 */
import 'uplot/dist/uPlot.min.css';
import type { SiteLevel } from '@slopeguard/core';
import uPlot from 'uplot';
import { el } from './dom.ts';
import { levelName, t, time } from './i18n.ts';
import { badge } from './levels.ts';
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

export interface Charts {
  tilt: uPlot;
  rain: uPlot;
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

/** The charts: built once per visit, then fed with setData. */
export function createCharts(root: HTMLElement, id: string): Charts {
  root.replaceChildren(el('p', { cls: 'note', text: t('chartsSince') }));
  const tiltBox = el('div', { cls: 'chart', attrs: { 'data-chart': 'tilt' } });
  const rainBox = el('div', { cls: 'chart', attrs: { 'data-chart': 'rain' } });
  root.append(el('h3', { text: t('tilt') }), tiltBox, el('h3', { text: t('rain') }), rainBox);
  const width = Math.max(300, Math.min(900, root.clientWidth - 20));
  const [tiltData, rainData] = series(id);
  const tz = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Seoul');
  const tilt = new uPlot(
    {
      width,
      height: 220,
      tzDate: tz,
      series: [
        {},
        { label: 'x (°)', stroke: '#0072B2', width: 2 },
        { label: 'y (°)', stroke: '#D55E00', width: 2, dash: [6, 4] },
      ],
    },
    tiltData,
    tiltBox,
  );
  const rain = new uPlot(
    {
      width,
      height: 220,
      tzDate: tz,
      series: [
        {},
        {
          label: 'mm',
          stroke: '#56B4E9',
          fill: 'rgba(86,180,233,0.4)',
          paths: uPlot.paths.bars?.({ size: [0.8] }),
        },
        { label: 'Σ mm', stroke: '#000000', width: 2, scale: 'cum' },
      ],
      axes: [{}, { scale: 'mm' }, { scale: 'cum', side: 1 }],
      scales: { mm: { auto: true } },
    },
    rainData,
    rainBox,
  );
  return { tilt, rain };
}

/** The chart data of a site from the readings received since page load. */
function series(site: string): [uPlot.AlignedData, uPlot.AlignedData] {
  const h = history.get(site) ?? [];
  const tiltTs: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  const rainTs: number[] = [];
  const mm: number[] = [];
  const cum: number[] = [];
  let total = 0;
  for (const r of [...h].sort((a, b) => a.ts - b.ts)) {
    if (r.kind === 'tilt') {
      tiltTs.push(r.ts / 1000);
      xs.push(Number(r.values.x));
      ys.push(Number(r.values.y));
    } else if (r.kind === 'rain') {
      const v = Number(r.values.mm ?? 0);
      total += v;
      rainTs.push(r.ts / 1000);
      mm.push(v);
      cum.push(total);
    }
  }
  return [
    [tiltTs, xs, ys],
    [rainTs, mm, cum],
  ];
}

export function updateCharts(c: Charts, site: string): void {
  const [tiltData, rainData] = series(site);
  c.tilt.setData(tiltData);
  c.rain.setData(rainData);
}
