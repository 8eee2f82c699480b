import { LEVEL_NAMES, type Level } from '@slopeguard/core';
import type { KnownEvent } from './events.ts';
import type { ForecastPoint, MoveSeries, RainSeries } from './report-data.ts';
import type { Score } from './score.ts';
import type { SweepResult } from './sweep.ts';
import { formatSpan } from './time.ts';

/**
 * `backtest --report out.html`: one self-contained HTML file (inline CSS and SVG, no script, no
 * network) that officials can open anywhere and paste into their reports: the site level as a band,
 * rain as a hyetograph with its cumulative curve and soil water index, movement sensors with their
 * thresholds, the known events, the time-of-failure forecasts against the actual failure, the score,
 * and after a sweep the trade-off between detection and false alarms.
 */
export interface ReportInput {
  site: string;
  file: string;
  first: number;
  last: number;
  /** False after a sweep (no single run to draw). */
  timeline: boolean;
  changes: readonly { ts: number; level: number }[];
  rain: RainSeries[];
  move: MoveSeries[];
  forecasts: ForecastPoint[];
  events: readonly KnownEvent[];
  score: Score | null;
  sweep: { paths: string[]; results: readonly SweepResult[]; best: SweepResult | null } | null;
  thresholds: { swiCriticalMm: number | null; cumulativeMm: number | null };
}

/** Korean crisis-level colours: 관심 blue, 주의 yellow, 경계 orange, 심각 red. */
const LEVEL_COLOURS = ['#e8efe6', '#4f8fdb', '#f2c531', '#f08a24', '#d7302f'];
const SERIES = ['#1f5fa8', '#c2410c', '#15803d', '#7c3aed', '#b45309', '#0e7490', '#be185d', '#4d7c0f'];
const W = 1100;
const LEFT = 70;
const RIGHT = 70;
const PLOT = W - LEFT - RIGHT;

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
const f1 = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');

/** Nice round steps for an axis from 0 (or lo) to hi. */
function ticks(lo: number, hi: number, n = 4): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** Keeps at most `max` points: for each group, the point of largest magnitude (peaks survive). */
function thin(t: number[], v: number[], max = 1500): [number[], number[]] {
  if (t.length <= max) return [t, v];
  const k = Math.ceil(t.length / max);
  const tt: number[] = [];
  const vv: number[] = [];
  for (let i = 0; i < t.length; i += k) {
    let best = i;
    for (let j = i; j < Math.min(i + k, t.length); j++)
      if (Math.abs(v[j] as number) > Math.abs(v[best] as number)) best = j;
    tt.push(t[best] as number);
    vv.push(v[best] as number);
  }
  return [tt, vv];
}

class Panel {
  readonly top: number;
  readonly height: number;
  constructor(top: number, height: number) {
    this.top = top;
    this.height = height;
  }
  y(v: number, lo: number, hi: number): number {
    return this.top + this.height - ((v - lo) / (hi - lo || 1)) * this.height;
  }
}

export function renderReport(d: ReportInput): string {
  const span = Math.max(1, d.last - d.first);
  const x = (t: number) => LEFT + ((t - d.first) / span) * PLOT;
  const svg: string[] = [];
  let top = 10;

  // Time axis labels (shared by every panel).
  const timeTicks: number[] = [];
  const stepDays = [1, 2, 7, 14, 30, 61, 91, 182, 365].find((s) => span / (s * 86_400_000) <= 8) ?? 365;
  const day0 = Math.ceil(d.first / 86_400_000) * 86_400_000;
  for (let t = day0; t <= d.last; t += stepDays * 86_400_000) timeTicks.push(t);
  const grid = (p: Panel) =>
    timeTicks
      .map((t) => `<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${p.top}" y2="${p.top + p.height}"/>`)
      .join('');
  const eventMarks = (p: Panel) =>
    d.events
      .map((e) =>
        e.kind === 'none-period'
          ? `<rect class="quiet" x="${x(e.ts)}" y="${p.top}" width="${Math.max(1, x(e.end ?? e.ts) - x(e.ts))}" height="${p.height}"/>`
          : `<line class="event" x1="${x(e.ts)}" x2="${x(e.ts)}" y1="${p.top}" y2="${p.top + p.height}"><title>${esc(`${e.kind} ${iso(e.ts)} UTC ${e.note}`)}</title></line>`,
      )
      .join('');

  // Level band.
  {
    const p = new Panel(top + 18, 34);
    svg.push(`<text class="title" x="${LEFT}" y="${top + 12}">Site level 현장 단계</text>`);
    let level = 0;
    let since = d.first;
    const band = (from: number, to: number, l: number) =>
      svg.push(
        `<rect class="level" data-level="${l}" x="${x(from)}" y="${p.top}" width="${Math.max(0, x(to) - x(from))}" height="${p.height}" fill="${LEVEL_COLOURS[l]}"><title>${l} ${LEVEL_NAMES[l as Level].ko} ${LEVEL_NAMES[l as Level].en}: ${iso(from)} - ${iso(to)} UTC</title></rect>`,
      );
    for (const c of d.changes) {
      band(since, Math.min(Math.max(c.ts, d.first), d.last), level);
      since = Math.min(Math.max(c.ts, d.first), d.last);
      level = c.level;
    }
    band(since, d.last, level);
    svg.push(eventMarks(p));
    top = p.top + p.height + 22;
  }

  // Rain: hyetograph (hourly bars), cumulative curve, soil water index (right axis).
  for (const r of d.rain) {
    const p = new Panel(top + 18, 170);
    const maxMm = Math.max(1, ...r.mm);
    const total = r.mm.reduce((a, b) => a + b, 0);
    const maxSwi = Math.max(1, ...r.swi, d.thresholds.swiCriticalMm ?? 0) * 1.1;
    svg.push(
      `<text class="title" x="${LEFT}" y="${top + 12}">Rain 강우 ${esc(r.id)}: hourly mm, cumulative ${f1(total)} mm, soil water index (right)</text>`,
    );
    svg.push(grid(p), eventMarks(p));
    const bw = Math.max(0.6, PLOT / Math.max(1, span / 3_600_000) - 0.2);
    const [bt, bv] = thin(r.t, r.mm, 3000);
    for (let i = 0; i < bt.length; i++) {
      const v = bv[i] as number;
      if (v <= 0) continue;
      const y = p.y(v, 0, maxMm);
      svg.push(
        `<rect class="bar" x="${x(bt[i] as number)}" y="${y}" width="${bw}" height="${p.top + p.height - y}"/>`,
      );
    }
    let acc = 0;
    const cum = r.t.map((t, i) => {
      acc += r.mm[i] as number;
      return `${x(t).toFixed(1)},${p.y(acc, 0, Math.max(1, total)).toFixed(1)}`;
    });
    svg.push(`<polyline class="cum" points="${cum.join(' ')}"/>`);
    const [st, sv] = thin(r.t, r.swi);
    svg.push(
      `<polyline class="swi" points="${st.map((t, i) => `${x(t).toFixed(1)},${p.y(sv[i] as number, 0, maxSwi).toFixed(1)}`).join(' ')}"/>`,
    );
    if (d.thresholds.swiCriticalMm !== null) {
      const y = p.y(d.thresholds.swiCriticalMm, 0, maxSwi);
      svg.push(
        `<line class="threshold" x1="${LEFT}" x2="${LEFT + PLOT}" y1="${y}" y2="${y}"/><text class="note" x="${LEFT + PLOT - 4}" y="${y - 4}" text-anchor="end">critical SWI ${f1(d.thresholds.swiCriticalMm)} mm</text>`,
      );
    }
    for (const v of ticks(0, maxMm))
      svg.push(
        `<text class="axis" x="${LEFT - 6}" y="${p.y(v, 0, maxMm) + 4}" text-anchor="end">${v}</text>`,
      );
    for (const v of ticks(0, maxSwi))
      svg.push(`<text class="axis swi-axis" x="${LEFT + PLOT + 6}" y="${p.y(v, 0, maxSwi) + 4}">${v}</text>`);
    svg.push(
      `<text class="axis" x="${LEFT - 6}" y="${p.top - 4}" text-anchor="end">mm/h</text><text class="axis swi-axis" x="${LEFT + PLOT + 6}" y="${p.top - 4}">SWI mm</text>`,
    );
    top = p.top + p.height + 22;
  }

  // Movement sensors by kind.
  for (const kind of ['displacement', 'tilt'] as const) {
    const series = d.move.filter((m) => m.kind === kind);
    if (series.length === 0) continue;
    const p = new Panel(top + 18, 170);
    const all = series.flatMap((m) => m.v);
    const cumulative = kind === 'displacement' ? d.thresholds.cumulativeMm : null;
    let lo = Math.min(...all);
    let hi = Math.max(...all);
    if (cumulative !== null) hi = Math.max(hi, Math.min(...series.map((m) => m.v[0] ?? 0)) + cumulative);
    if (hi - lo < 1e-6) [lo, hi] = [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.08;
    [lo, hi] = [lo - pad, hi + pad];
    const unit = kind === 'tilt' ? 'deg (change from first reading)' : 'mm';
    svg.push(
      `<text class="title" x="${LEFT}" y="${top + 12}">${kind === 'tilt' ? 'Tilt 경사' : 'Displacement 변위'}: ${unit}</text>`,
    );
    svg.push(grid(p), eventMarks(p));
    series.forEach((m, k) => {
      const [tt, vv] = thin(m.t, m.v);
      const colour = SERIES[k % SERIES.length];
      svg.push(
        `<polyline class="move" stroke="${colour}" points="${tt.map((t, i) => `${x(t).toFixed(1)},${p.y(vv[i] as number, lo, hi).toFixed(1)}`).join(' ')}"><title>${esc(m.id)}</title></polyline>`,
      );
      svg.push(
        `<text class="legend" x="${LEFT + 8 + k * 130}" y="${p.top + 14}" fill="${colour}">■ ${esc(m.id)}</text>`,
      );
      if (cumulative !== null && m.v.length > 0) {
        const y = p.y((m.v[0] as number) + cumulative, lo, hi);
        svg.push(
          `<line class="threshold" stroke="${colour}" x1="${LEFT}" x2="${LEFT + PLOT}" y1="${y}" y2="${y}"/>`,
        );
      }
    });
    if (kind === 'displacement')
      for (const f of d.forecasts) {
        if (f.tf < d.first || f.tf > d.last + span * 0.05) continue;
        svg.push(
          `<circle class="forecast" cx="${x(Math.min(f.tf, d.last))}" cy="${p.top + p.height - 6}" r="3"><title>${esc(`${f.id}: at ${iso(f.at)} UTC forecast failure ${iso(f.tf)} UTC`)}</title></circle>`,
        );
      }
    for (const v of ticks(lo, hi))
      svg.push(`<text class="axis" x="${LEFT - 6}" y="${p.y(v, lo, hi) + 4}" text-anchor="end">${v}</text>`);
    top = p.top + p.height + 22;
  }

  for (const t of timeTicks)
    svg.push(`<text class="axis" x="${x(t)}" y="${top}" text-anchor="middle">${iso(t).slice(0, 10)}</text>`);
  top += 14;
  const timeline = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${top}" width="${W}" height="${top}" role="img" aria-label="backtest timeline">${svg.join('')}</svg>`;

  return `<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>Backtest ${esc(d.site)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font:14px/1.45 "Noto Sans CJK KR","Noto Sans KR",system-ui,sans-serif;margin:24px auto;max-width:${W + 20}px;color:#1d2733}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}.sub{color:#5b6776}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #e3e7ec;text-align:left}th{background:#f4f6f8}
.grid{stroke:#eef1f4}.title{font-weight:600;font-size:13px;fill:#1d2733}.axis{font-size:11px;fill:#5b6776}.swi-axis{fill:#7c3aed}
.bar{fill:#5b9bd5}.cum{fill:none;stroke:#1f3b63;stroke-width:1.5;stroke-dasharray:4 3}.swi{fill:none;stroke:#7c3aed;stroke-width:1.8}
.move{fill:none;stroke-width:1.6}.threshold{stroke:#d7302f;stroke-dasharray:6 4;stroke-width:1.2}.note{font-size:11px;fill:#d7302f}
.event{stroke:#111;stroke-width:2}.quiet{fill:#15803d;opacity:.08}.forecast{fill:#d7302f;opacity:.55}.legend{font-size:12px}
.key span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;vertical-align:middle}.miss{color:#d7302f;font-weight:600}
</style></head><body>
<h1>Backtest 백테스트: ${esc(d.site)}</h1>
<div class="sub">${esc(d.file)} · ${iso(d.first)} - ${iso(d.last)} UTC (${formatSpan(d.last - d.first)})</div>
<div class="key">${LEVEL_COLOURS.map((c, l) => `<span style="background:${c}"></span>${l} ${LEVEL_NAMES[l as Level].ko} ${LEVEL_NAMES[l as Level].en}`).join('')} <span style="background:#111;width:3px"></span>known event <span style="background:#d7302f;border-radius:50%;width:8px;height:8px"></span>forecast failure time</div>
${scoreHtml(d.score)}
${d.timeline ? `<h2>Timeline 시간대별</h2>\n${timeline}` : ''}
${sweepHtml(d.sweep)}
<p class="sub">Slopeguard backtest report: generated from the readings above by the same engine the gateway and the control center run. Times in UTC.</p>
</body></html>
`;
}

function scoreHtml(s: Score | null): string {
  if (!s) return '';
  const m = s.summary;
  const span = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : formatSpan(ms));
  const rows = s.events
    .map(
      (e) =>
        `<tr><td>${iso(e.ts)}</td><td>${esc(e.kind)}</td><td${e.scored && !e.detected ? ' class="miss"' : ''}>${!e.scored ? 'outside the readings' : e.detected ? 'detected 탐지' : 'missed 미탐지'}</td>${[1, 2, 3, 4].map((l) => `<td>${span(e.leadMs[l])}</td>`).join('')}<td>${esc(e.note)}</td></tr>`,
    )
    .join('');
  return `<h2>Score 평가 (alarm at level ${s.options.alarmLevel} or higher)</h2>
<table><tr><th>Detection 탐지율</th><td>${m.pod === null ? '-' : `${(m.pod * 100).toFixed(1)} %`} (${m.detected} of ${m.events})</td>
<th>False alarms 오경보</th><td>${m.falseAlarms} (${m.falsePerYear === null ? '-' : m.falsePerYear.toFixed(2)} per year)</td>
<th>Lead time 선행 시간</th><td>median ${span(m.leadMedianMs)}, worst ${span(m.leadWorstMs)}</td></tr></table>
<table><tr><th>Event 사건 (UTC)</th><th>Kind</th><th>Result</th><th>Lead L1</th><th>L2</th><th>L3</th><th>L4</th><th>Note</th></tr>${rows}</table>`;
}

function sweepHtml(sw: ReportInput['sweep']): string {
  if (!sw || sw.results.length === 0) return '';
  const size = 420;
  const pad = 50;
  const maxFalse = Math.max(1, ...sw.results.map((r) => r.summary.falsePerYear ?? 0)) * 1.05;
  const px = (f: number) => pad + (f / maxFalse) * (size - pad - 10);
  const py = (pod: number) => size - pad - pod * (size - pad - 10);
  const front = sw.results
    .filter((r) => r.pareto)
    .sort((a, b) => (a.summary.falsePerYear ?? 0) - (b.summary.falsePerYear ?? 0));
  const parts: string[] = [];
  for (const v of ticks(0, maxFalse))
    parts.push(`<text class="axis" x="${px(v)}" y="${size - pad + 16}" text-anchor="middle">${v}</text>`);
  for (const v of [0, 0.25, 0.5, 0.75, 1])
    parts.push(
      `<text class="axis" x="${pad - 6}" y="${py(v) + 4}" text-anchor="end">${v * 100}%</text><line class="grid" x1="${pad}" x2="${size - 10}" y1="${py(v)}" y2="${py(v)}"/>`,
    );
  parts.push(
    `<polyline class="swi" points="${front.map((r) => `${px(r.summary.falsePerYear ?? 0)},${py(r.summary.pod ?? 0)}`).join(' ')}"/>`,
  );
  for (const r of sw.results) {
    const label = sw.paths.map((p, i) => `${p}=${r.values[i]}`).join(', ');
    parts.push(
      `<circle class="${r.pareto ? 'pareto' : 'setting'}" cx="${px(r.summary.falsePerYear ?? 0)}" cy="${py(r.summary.pod ?? 0)}" r="${r === sw.best ? 7 : 4}" fill="${r === sw.best ? '#d7302f' : r.pareto ? '#7c3aed' : '#9aa5b1'}"><title>${esc(label)}</title></circle>`,
    );
  }
  parts.push(
    `<text class="axis" x="${(size + pad) / 2}" y="${size - 8}" text-anchor="middle">false alarms per year 연간 오경보</text><text class="axis" x="14" y="${size / 2}" transform="rotate(-90 14 ${size / 2})" text-anchor="middle">detection 탐지율</text>`,
  );
  const best = sw.best
    ? `<p>Recommended 권고: <b>${esc(sw.paths.map((p, i) => `${p}=${sw.best?.values[i]}`).join(', '))}</b></p>`
    : '';
  return `<h2>Trade-off 임계값 탐색 (${sw.results.length} settings; purple: Pareto front)</h2>${best}
<svg xmlns="http://www.w3.org/2000/svg" class="tradeoff" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}" role="img" aria-label="sweep trade-off">${parts.join('')}</svg>`;
}
