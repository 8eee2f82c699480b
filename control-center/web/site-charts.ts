/**
 * The site page's charts (uPlot): the last 24 h from the readings API (downsampled on the server,
 * bucket means), then the live readings appended as they arrive over socket.io.
 *
 * - tilt: change of x and y from the baseline, and the tilting rate with the tilt rule thresholds;
 * - displacement: change from the first reading and its velocity, with the displacement thresholds;
 * - rain: hyetograph (mm per bucket), the cumulative curve and the 3-hour total with the 3-hour
 *   rain thresholds; the soil water index (SWI) now, beside its critical value when one is set;
 * - inverse velocity (Fukuzono 1985): 1/v over time and, when the engine has a forecast, the line
 *   to its failure time.
 *
 * Rates are computed here from the series only to draw them; the levels are the engine's.
 */
import 'uplot/dist/uPlot.min.css';
import type { Reading } from '@slopeguard/core';
import uPlot from 'uplot';
import type { Range, SiteHealth, SiteRules } from './api.ts';
import { el } from './dom.ts';
import { t, time } from './i18n.ts';

const HOUR = 3_600_000;

/** One sensor's points: epoch ms and per-field values; `sum` is the bucket's total (rain). */
export interface Series {
  id: string;
  kind: string;
  ts: number[];
  fields: Record<string, number[]>;
  sum: number[];
  /** Newest timestamp from the history API; live readings after it are appended. */
  loadedTo: number;
}

export function fromRange(id: string, kind: string, r: Range): Series {
  const s: Series = { id, kind, ts: [], fields: {}, sum: [], loadedTo: r.to };
  for (const b of r.buckets) {
    // The bucket's middle, but never past the end of the range: live readings follow it in order.
    s.ts.push(Math.min(b.start + r.stepMs / 2, r.to));
    for (const [f, v] of Object.entries(b.values)) put(s, f, v.mean);
    s.sum.push((b.values.mm?.mean ?? 0) * b.count);
  }
  return s;
}

/** Sets field f of the newest point, padding points that lacked the field with NaN (kept aligned). */
function put(s: Series, f: string, v: number): void {
  const col = s.fields[f] ?? [];
  s.fields[f] = col;
  while (col.length < s.ts.length - 1) col.push(Number.NaN);
  col.push(v);
}

/** Appends live readings newer than what the series holds (history and live never overlap). */
export function appendLive(s: Series, live: readonly Reading[]): void {
  for (const r of live) {
    const last = s.ts.length > 0 ? Math.max(s.loadedTo, s.ts[s.ts.length - 1] ?? 0) : s.loadedTo;
    if (r.sensor !== s.id || r.ts <= last) continue;
    s.ts.push(r.ts);
    for (const [f, v] of Object.entries(r.values)) put(s, f, Number(v));
    s.sum.push(Number(r.values.mm ?? 0));
  }
}

/** Rate per hour of `v` over `windowMs` (from the newest point at least windowMs older). */
export function ratePerHour(
  ts: readonly number[],
  v: readonly number[],
  windowMs: number,
): Array<number | null> {
  const out: Array<number | null> = [];
  let j = 0;
  for (let i = 0; i < ts.length; i++) {
    const ti = ts[i] ?? 0;
    while (j + 1 < i && (ts[j + 1] ?? 0) <= ti - windowMs) j++;
    const dt = ti - (ts[j] ?? ti);
    out.push(j < i && dt >= windowMs / 2 ? (((v[i] ?? 0) - (v[j] ?? 0)) / dt) * HOUR : null);
  }
  return out;
}

interface Line {
  scale: string;
  value: number;
  label: string;
}

/** Draws the active thresholds as dashed horizontal lines with their words. */
function thresholdPlugin(lines: readonly Line[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.font = `${11 * devicePixelRatio}px system-ui, "Noto Sans CJK KR", sans-serif`;
          for (const l of lines) {
            const y = u.valToPos(l.value, l.scale, true);
            if (y < top || y > top + height) continue;
            ctx.strokeStyle = '#b91c1c';
            ctx.fillStyle = '#b91c1c';
            ctx.lineWidth = 1.5 * devicePixelRatio;
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.fillText(l.label, left + 4 * devicePixelRatio, y - 3 * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** A scale that always shows its thresholds, so an official sees how far the value is from them. */
function rangeWith(lines: readonly Line[], scale: string): uPlot.Range.Function {
  return (_u, min, max) => {
    const top = Math.max(max ?? 0, ...lines.filter((l) => l.scale === scale).map((l) => l.value * 1.15));
    const bottom = Math.min(min ?? 0, 0);
    return [bottom, top > bottom ? top : bottom + 1];
  };
}

const tz = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Seoul');

interface Spec {
  key: string;
  title: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  axes?: uPlot.Axis[];
  scales?: uPlot.Scales;
  lines?: Line[];
  extra?: uPlot.Plugin[];
  points: number;
}

export interface ChartSet {
  update(series: readonly Series[], health: SiteHealth | null): void;
  destroy(): void;
}

const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];

/** What the charts show, from the series, rules and health (pure: tested without a browser). */
export function specs(series: readonly Series[], rules: SiteRules | null, health: SiteHealth | null): Spec[] {
  const out: Spec[] = [];
  const r = rules?.rules;
  const tilts = series.filter((s) => s.kind === 'tilt').slice(0, 3);
  if (tilts.length > 0) {
    const ts = mergeTs(tilts);
    const change: Array<Array<number | null>> = [];
    const rate: Array<Array<number | null>> = [];
    const series0: uPlot.Series[] = [{}];
    const seriesR: uPlot.Series[] = [{}];
    tilts.forEach((s, i) => {
      const base = rules?.sensors.find((x) => x.id === s.id)?.baseline ?? {
        x: s.fields.x?.[0] ?? 0,
        y: s.fields.y?.[0] ?? 0,
      };
      const dx = (s.fields.x ?? []).map((v) => v - base.x);
      const dy = (s.fields.y ?? []).map((v) => v - base.y);
      const mag = dx.map((v, k) => Math.hypot(v, dy[k] ?? 0));
      change.push(align(ts, s.ts, dx), align(ts, s.ts, dy));
      rate.push(align(ts, s.ts, ratePerHour(s.ts, mag, 30 * 60_000)));
      series0.push(
        { label: `${s.id} Δx (°)`, stroke: COLOURS[(2 * i) % 6], width: 2 },
        { label: `${s.id} Δy (°)`, stroke: COLOURS[(2 * i + 1) % 6], width: 2, dash: [6, 4] },
      );
      seriesR.push({ label: `${s.id} °/h`, stroke: COLOURS[(2 * i) % 6], width: 2, scale: 'rate' });
    });
    out.push({
      key: 'tilt',
      title: t('tilt'),
      data: [ts.map((x) => x / 1000), ...change] as uPlot.AlignedData,
      series: series0,
      points: ts.length,
    });
    const lines = [
      threshold('rate', r?.tilt?.level1?.degPerHour, '1'),
      threshold('rate', r?.tilt?.level2?.degPerHour, '2'),
    ].filter((l): l is Line => l !== null);
    out.push({
      key: 'tilt-rate',
      title: t('tiltRate'),
      data: [ts.map((x) => x / 1000), ...rate] as uPlot.AlignedData,
      series: seriesR,
      scales: { rate: { range: rangeWith(lines, 'rate') } },
      axes: [{}, { scale: 'rate' }],
      lines,
      points: ts.length,
    });
  }
  const disps = series.filter((s) => s.kind === 'displacement').slice(0, 3);
  if (disps.length > 0) {
    const ts = mergeTs(disps);
    const cols: Array<Array<number | null>> = [];
    const ser: uPlot.Series[] = [{}];
    disps.forEach((s, i) => {
      const mm = s.fields.mm ?? [];
      const d = mm.map((v) => v - (mm[0] ?? 0));
      cols.push(align(ts, s.ts, d), align(ts, s.ts, ratePerHour(s.ts, mm, HOUR)));
      ser.push(
        { label: `${s.id} mm`, stroke: COLOURS[i % 6], width: 2 },
        { label: `${s.id} mm/h`, stroke: COLOURS[(i + 3) % 6], width: 2, dash: [6, 4], scale: 'v' },
      );
    });
    const lines = [
      threshold('v', r?.displacement?.level2?.mmPerHour, '2'),
      threshold('v', r?.displacement?.level3?.mmPerHour, '3'),
      threshold('v', r?.displacement?.level4?.mmPerHour, '4'),
    ].filter((l): l is Line => l !== null);
    out.push({
      key: 'displacement',
      title: t('displacement'),
      data: [ts.map((x) => x / 1000), ...cols] as uPlot.AlignedData,
      series: ser,
      scales: { v: { range: rangeWith(lines, 'v') } },
      axes: [{}, {}, { scale: 'v', side: 1, grid: { show: false } }],
      lines,
      points: ts.length,
    });
  }
  const rain = series.find((s) => s.kind === 'rain');
  if (rain) {
    const ts = rain.ts;
    let total = 0;
    const cum = rain.sum.map((v) => {
      total += v;
      return total;
    });
    const sum3h = windowSum(ts, rain.sum, 3 * HOUR);
    const lines = [
      threshold('cum', r?.rain?.level1?.mm3h, '1 (3 h)'),
      threshold('cum', r?.rain?.level2?.mm3h, '2 (3 h)'),
    ].filter((l): l is Line => l !== null);
    out.push({
      key: 'rain',
      title: t('rain'),
      data: [ts.map((x) => x / 1000), rain.sum, cum, sum3h] as uPlot.AlignedData,
      series: [
        {},
        {
          label: 'mm',
          stroke: '#56B4E9',
          fill: 'rgba(86,180,233,0.4)',
          paths: uPlot.paths.bars?.({ size: [0.8] }),
          scale: 'mm',
        },
        { label: 'Σ mm', stroke: '#000000', width: 2, scale: 'cum' },
        { label: '3 h Σ mm', stroke: '#CC79A7', width: 2, dash: [6, 4], scale: 'cum' },
      ],
      axes: [{}, { scale: 'mm' }, { scale: 'cum', side: 1, grid: { show: false } }],
      scales: { mm: { auto: true }, cum: { range: rangeWith(lines, 'cum') } },
      lines,
      points: ts.length,
    });
  }
  // Inverse velocity of the sensor with a forecast, else of the first moving sensor.
  const forecasts = health?.engine?.forecasts ?? {};
  const fid = Object.keys(forecasts)[0];
  const moving = series.find((s) => s.id === fid) ?? disps[0] ?? tilts[0];
  if (moving) {
    const v =
      moving.kind === 'tilt'
        ? ratePerHour(
            moving.ts,
            (moving.fields.x ?? []).map((x, k) => Math.hypot(x, moving.fields.y?.[k] ?? 0)),
            30 * 60_000,
          )
        : ratePerHour(moving.ts, moving.fields.mm ?? [], HOUR);
    const inv = v.map((x) => (x !== null && Math.abs(x) > 1e-9 ? 1 / Math.abs(x) : null));
    const f = fid ? forecasts[fid] : undefined;
    const ts = [...moving.ts];
    const fit: Array<number | null> = ts.map(() => null);
    const lastIdx = inv.findLastIndex((x) => x !== null);
    if (f && lastIdx >= 0 && f.tf > (ts[lastIdx] ?? 0)) {
      // The forecast line: from the newest 1/v to zero at the forecast failure time.
      fit[lastIdx] = inv[lastIdx] ?? null;
      ts.push(f.tf);
      inv.push(null);
      fit.push(0);
    }
    out.push({
      key: 'inverse-velocity',
      title: `${t('inverseVelocity')} (${moving.id})`,
      data: [ts.map((x) => x / 1000), inv, fit] as uPlot.AlignedData,
      series: [
        {},
        { label: '1/v', stroke: '#0072B2', width: 2, spanGaps: false },
        { label: t('forecastLine'), stroke: '#D55E00', width: 2, dash: [4, 4], spanGaps: true },
      ],
      points: moving.ts.length,
      extra: f ? [failureMarker(f.tf)] : [],
    });
  }
  return out;
}

function threshold(scale: string, value: number | undefined, level: string): Line | null {
  return value === undefined ? null : { scale, value, label: `${t('threshold')} ${level}: ${value}` };
}

/** A vertical line at the forecast failure time. */
function failureMarker(tfMs: number): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const x = u.valToPos(tfMs / 1000, 'x', true);
          const { top, height } = u.bbox;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = '#D55E00';
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  };
}

function mergeTs(list: readonly Series[]): number[] {
  const all = new Set<number>();
  for (const s of list) for (const x of s.ts) all.add(x);
  return [...all].sort((a, b) => a - b);
}

function align(
  ts: readonly number[],
  own: readonly number[],
  v: ReadonlyArray<number | null>,
): Array<number | null> {
  const at = new Map<number, number | null>();
  own.forEach((x, i) => {
    at.set(x, v[i] ?? null);
  });
  return ts.map((x) => at.get(x) ?? null);
}

function windowSum(ts: readonly number[], v: readonly number[], windowMs: number): number[] {
  const out: number[] = [];
  let j = 0;
  let sum = 0;
  for (let i = 0; i < ts.length; i++) {
    sum += v[i] ?? 0;
    while ((ts[j] ?? 0) <= (ts[i] ?? 0) - windowMs) {
      sum -= v[j] ?? 0;
      j++;
    }
    out.push(sum);
  }
  return out;
}

/** Builds the charts once, then re-feeds them; rebuilds when the set of charts changes. */
export function createChartSet(
  root: HTMLElement,
  rules: SiteRules | null,
  /** The time axis in epoch ms (the period shown, also with one point or none); read on each redraw. */
  period: () => [number, number],
  printWidth?: number,
): ChartSet {
  let built: Array<{ key: string; plot: uPlot; box: HTMLElement }> = [];
  const swi = el('p', { cls: 'swi' });
  const forecast = el('p', { cls: 'forecast' });
  root.replaceChildren(swi, forecast);
  const build = (list: Spec[]) => {
    for (const b of built) b.plot.destroy();
    built = [];
    root.replaceChildren(swi, forecast);
    const width = printWidth ?? Math.max(300, Math.min(900, root.clientWidth - 20));
    for (const sp of list) {
      const box = el('div', { cls: 'chart', attrs: { 'data-chart': sp.key } });
      root.append(el('h3', { text: sp.title }), box);
      const plot = new uPlot(
        {
          width,
          height: 200,
          tzDate: tz,
          series: sp.series,
          ...(sp.axes ? { axes: sp.axes } : {}),
          scales: {
            ...sp.scales,
            // The period, stretched to a forecast failure time beyond it.
            x: {
              time: true,
              range: (_u, _min, max) => {
                const [a, b] = period();
                return [a / 1000, Math.max(b / 1000, max ?? 0)];
              },
            },
          },
          plugins: [thresholdPlugin(sp.lines ?? []), ...(sp.extra ?? [])],
        },
        sp.data,
        box,
      );
      built.push({ key: sp.key, plot, box });
    }
  };
  return {
    update(series, health) {
      const list = specs(series, rules, health);
      if (list.map((s) => s.key).join() !== built.map((b) => b.key).join()) build(list);
      else
        list.forEach((sp, i) => {
          built[i]?.plot.setData(sp.data);
        });
      list.forEach((sp, i) => {
        const box = built[i]?.box;
        if (!box) return;
        box.dataset.points = String(sp.points);
        box.dataset.thresholds = (sp.lines ?? []).map((l) => l.value).join(',');
      });
      const swiNow = Object.entries(health?.engine?.swi ?? {});
      const critical = rules?.rules.rain?.swi?.criticalMm;
      swi.textContent = swiNow.length
        ? `${t('swi')}: ${swiNow.map(([id, v]) => `${id} ${v.toFixed(1)} mm`).join(', ')}${
            critical !== undefined ? ` (${t('critical')} ${critical} mm)` : ''
          }`
        : '';
      const f = Object.entries(health?.engine?.forecasts ?? {});
      forecast.textContent = f.length
        ? `${t('forecastFailure')}: ${f.map(([id, x]) => `${id} ${time(x.tf)} (r² ${x.r2.toFixed(2)})`).join(', ')}`
        : t('noForecast');
      forecast.dataset.forecast = String(f.length > 0);
    },
    destroy() {
      for (const b of built) b.plot.destroy();
      built = [];
    },
  };
}
