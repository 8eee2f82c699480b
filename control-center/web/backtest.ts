/**
 * The backtest view (`#/backtest`, `#/backtest/{site}`): a site and a past period (or a backtest CSV),
 * the thresholds of the site's rules to change, Run. The server replays the raw readings through the
 * alert engine twice, with the current thresholds and with the changed ones
 * (POST /api/v1/sites/{site}/backtest); this page shows both: the level as a band over time, a table
 * of level changes each, and the readings charts of the period with the thresholds drawn.
 */
import type { SiteLevel } from '@slopeguard/core';
import { BACKTEST_THRESHOLDS, thresholdOf } from '../src/routes/backtest-thresholds.ts';
import * as api from './api.ts';
import { type ParsedFile, parseBacktestFile, type UploadReading } from './backtest-csv.ts';
import { type BtKey, bt, thresholdLabel } from './backtest-i18n.ts';
import { el } from './dom.ts';
import { levelName, onLang, time } from './i18n.ts';
import { createChartSet, fromRange, type Series } from './site-charts.ts';
import { reasonWords } from './site-page.ts';

const DAY = 24 * 3_600_000;
/** The route's limits (routes/backtest.ts BACKTEST_LIMITS): said before the server refuses. */
const MAX_UPLOAD = 100_000;
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** `datetime-local` value in Asia/Seoul (the sites' zone) for an epoch ms, and back. */
const KST = 9 * 3_600_000;
const toInput = (ms: number) => new Date(ms + KST).toISOString().slice(0, 16);
const fromInput = (v: string) => Date.parse(`${v}:00Z`) - KST;

type Reason = SiteLevel['reasons'][number];
export interface Change {
  ts: number;
  level: number;
  previous: number;
  reasons: Reason[];
}
export interface Run {
  startLevel: number;
  endLevel: number;
  highest: number;
  timeAtLevelMs: number[];
  changes: Change[];
  truncated: boolean;
}
export interface Result {
  site: string;
  source: 'store' | 'upload';
  from: number;
  to: number;
  readings: number;
  skipped: number;
  problems: string[];
  sensors: Array<{ id: string; kind: string; readings: number }>;
  overrides: Record<string, number>;
  current: Run;
  proposed: Run;
  elapsedMs: number;
}

/** The open view's relabelling (one view at a time; i18n.ts has no way to unsubscribe). */
let relabel: (() => void) | null = null;
/** The navigation's link to this view (index.html), in the page's language. */
const navLabel = () => {
  const a = document.getElementById('nav-backtest');
  if (a) a.textContent = bt('backtest');
};
onLang(() => {
  navLabel();
  relabel?.();
});
navLabel();

export interface BacktestView {
  readonly site: string | null;
  /** Adds sites the page learnt of since the view opened (the snapshot may come after it). */
  update(): void;
  close(): void;
}

/** The view; `siteIds` lists the sites known to the page (for the picker). */
export function openBacktest(root: HTMLElement, site: string | null, siteIds: () => string[]): BacktestView {
  let closed = false;
  let rules: api.SiteRules | null = null;
  let upload: ParsedFile | null = null;
  let last: Result | null = null;
  let charts: ReturnType<typeof createChartSet> | null = null;
  const now = Date.now();

  const heading = el('h2', { attrs: { tabindex: '-1' } });
  const intro = el('p', { cls: 'note' });
  const siteSel = el('select', { attrs: { id: 'bt-site' } });
  const siteLabel = el('label', { attrs: { for: 'bt-site' } });
  const ids = [...new Set([...siteIds(), ...(site ? [site] : [])])].sort();
  siteSel.append(el('option', { attrs: { value: '' } }));
  for (const id of ids) siteSel.append(el('option', { text: id, attrs: { value: id } }));
  siteSel.value = site ?? '';
  const from = el('input', { attrs: { id: 'bt-from', type: 'datetime-local', value: toInput(now - DAY) } });
  const to = el('input', { attrs: { id: 'bt-to', type: 'datetime-local', value: toInput(now) } });
  const fromLabel = el('label', { attrs: { for: 'bt-from' } });
  const toLabel = el('label', { attrs: { for: 'bt-to' } });
  const file = el('input', { attrs: { id: 'bt-csv', type: 'file', accept: '.csv,.ndjson,.txt,text/csv' } });
  const fileLabel = el('label', { attrs: { for: 'bt-csv' } });
  const clearFile = el('button', { attrs: { type: 'button', id: 'bt-clear-csv' } });
  clearFile.hidden = true;
  const fileNote = el('p', { cls: 'note', attrs: { id: 'bt-csv-note' } });
  const legend = el('legend');
  const fields = el('div', { cls: 'bt-fields' });
  const thresholds = el('fieldset', { cls: 'bt-thresholds' }, legend, fields);
  const run = el('button', { attrs: { type: 'submit', id: 'bt-run' } });
  const status = el('p', { attrs: { role: 'status', id: 'bt-status' } });
  const form = el(
    'form',
    { cls: 'bt-form', attrs: { id: 'bt-form' } },
    el('div', { cls: 'act' }, siteLabel, siteSel, fromLabel, from, toLabel, to),
    el('div', { cls: 'act' }, fileLabel, file, clearFile),
    fileNote,
    thresholds,
    el('div', { cls: 'act' }, run),
    status,
  );
  const results = el('div', { cls: 'bt-results', attrs: { id: 'bt-results' } });
  root.replaceChildren(heading, intro, form, results);

  const inputs = new Map<string, HTMLInputElement>();
  /** The threshold inputs; `keep` keeps what was typed (a language switch), else the site's values. */
  const renderFields = (keep = false) => {
    const typed = new Map([...inputs].map(([p, i]) => [p, i.value]));
    fields.replaceChildren();
    inputs.clear();
    for (const th of BACKTEST_THRESHOLDS) {
      const current = rules ? thresholdOf(rules.rules, th.path) : undefined;
      const id = `bt-th-${th.path.replaceAll('.', '-')}`;
      const input = el('input', {
        attrs: {
          id,
          type: 'number',
          step: 'any',
          min: '0',
          max: String(th.max),
          inputmode: 'decimal',
          'data-path': th.path,
        },
      });
      input.value =
        keep && typed.has(th.path)
          ? (typed.get(th.path) ?? '')
          : current === undefined
            ? ''
            : String(current);
      input.dataset.current = current === undefined ? '' : String(current);
      inputs.set(th.path, input);
      const now = el('span', {
        cls: 'note',
        text: `${bt('currentValue')} ${current === undefined ? bt('off') : `${current} ${th.unit}`}`,
      });
      fields.append(
        el(
          'div',
          { cls: 'bt-field' },
          el('label', { text: thresholdLabel(th.path), attrs: { for: id } }),
          el('span', { cls: 'bt-input' }, input, el('span', { text: ` ${th.unit}` })),
          now,
        ),
      );
    }
    const reset = el('button', { text: bt('reset'), attrs: { type: 'button', id: 'bt-reset' } });
    reset.addEventListener('click', () => {
      for (const i of inputs.values()) i.value = i.dataset.current ?? '';
    });
    fields.append(el('div', { cls: 'bt-field' }, reset));
  };

  const label = () => {
    heading.textContent = `${bt('backtest')}${siteSel.value ? ` — ${siteSel.value}` : ''}`;
    intro.textContent = bt('intro');
    siteLabel.textContent = bt('site');
    (siteSel.options[0] as HTMLOptionElement).textContent = bt('pickSite');
    fromLabel.textContent = bt('from');
    toLabel.textContent = bt('to');
    fileLabel.textContent = bt('csv');
    clearFile.textContent = bt('clearCsv');
    legend.textContent = bt('thresholds');
    run.textContent = bt('run');
    renderFields(true);
    describeUpload();
    if (last) show(last);
  };

  const loadRules = async () => {
    rules = null;
    renderFields();
    const id = siteSel.value;
    run.disabled = !id;
    if (!id) return;
    status.textContent = bt('loadingRules');
    try {
      const r = await api.siteRules(id);
      if (closed || siteSel.value !== id) return;
      rules = r;
      status.textContent = '';
    } catch {
      if (closed) return;
      status.textContent = bt('noRules');
      status.className = 'error';
    }
    renderFields();
  };

  const describeUpload = () => {
    clearFile.hidden = upload === null;
    from.disabled = upload !== null;
    to.disabled = upload !== null;
    if (!upload) {
      fileNote.textContent = '';
      return;
    }
    const parts = [bt('csvRows', { n: upload.readings.length })];
    if (upload.bad > 0)
      parts.push(`${bt('csvBad', { n: upload.bad })}: ${upload.problems.slice(0, 3).join('; ')}`);
    if (upload.tooMany) parts.push(bt('csvTooBig', { n: MAX_UPLOAD }));
    if (upload.notBacktest) parts.push(bt('csvHeader'));
    fileNote.textContent = parts.join(' · ');
  };

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    if (f.size > MAX_FILE_BYTES) {
      upload = { readings: [], problems: [], bad: 0, notBacktest: false, tooMany: true };
    } else upload = parseBacktestFile(await f.text(), MAX_UPLOAD);
    describeUpload();
  });
  clearFile.addEventListener('click', () => {
    upload = null;
    file.value = '';
    describeUpload();
  });
  siteSel.addEventListener('change', () => {
    last = null;
    results.replaceChildren();
    heading.textContent = `${bt('backtest')}${siteSel.value ? ` — ${siteSel.value}` : ''}`;
    void loadRules();
  });

  const overrides = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [path, input] of inputs) {
      const v = input.value.trim();
      if (v === '' || v === input.dataset.current) continue;
      const n = Number(v);
      if (Number.isFinite(n)) out[path] = n;
    }
    return out;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = siteSel.value;
    if (!id) {
      status.textContent = bt('pickSite');
      return;
    }
    if (upload && (upload.notBacktest || upload.tooMany || upload.readings.length === 0)) {
      describeUpload();
      status.textContent = bt('failed');
      status.className = 'error';
      return;
    }
    const body: {
      from?: string;
      to?: string;
      readings?: UploadReading[];
      overrides: Record<string, number>;
    } = {
      overrides: overrides(),
    };
    if (upload) body.readings = upload.readings;
    else {
      body.from = String(fromInput(from.value));
      body.to = String(fromInput(to.value));
    }
    run.disabled = true;
    status.className = '';
    status.textContent = bt('running');
    results.dataset.ready = 'false';
    try {
      const r = await api.backtest(id, body);
      if (closed) return;
      last = r;
      status.textContent = '';
      show(r);
    } catch (err) {
      if (closed) return;
      status.className = 'error';
      const code = err instanceof api.ApiFailure ? err.code : '';
      const known: Record<string, BtKey> = {
        SG_ERR_RATE_LIMITED: 'rateLimited',
        SG_ERR_BACKTEST_TOO_LONG: 'tooLong',
        SG_ERR_BACKTEST_TOO_MANY: 'tooMany',
        SG_ERR_RANGE_ORDER: 'rangeOrder',
        SG_ERR_BACKTEST_RULES: 'badThresholds',
        SG_ERR_STORE_UNAVAILABLE: 'storeDown',
      };
      const k = known[code];
      status.textContent = k ? bt(k) : `${bt('failed')}: ${(err as Error).message}`;
    } finally {
      run.disabled = !siteSel.value;
    }
  });

  const show = (r: Result) => {
    charts?.destroy();
    charts = null;
    results.replaceChildren();
    const differs = JSON.stringify(r.current.changes) !== JSON.stringify(r.proposed.changes);
    results.append(
      el('h3', { text: bt('summary') }),
      el('p', {
        text: `${time(r.from)} – ${time(r.to)} · ${bt('readings', { n: r.readings, ms: r.elapsedMs })}`,
      }),
      el('p', { cls: differs ? 'bt-differ' : 'note', text: bt(differs ? 'differ' : 'same') }),
    );
    if (r.skipped > 0)
      results.append(
        el('p', {
          cls: 'note',
          text: `${bt('skipped', { n: r.skipped })}: ${r.problems.slice(0, 3).join('; ')}`,
        }),
      );
    results.append(summaryTable(r));
    results.append(el('h3', { text: bt('band') }));
    for (const [key, run] of [
      ['current', r.current],
      ['proposed', r.proposed],
    ] as const)
      results.append(band(key, run, r.from, r.to));
    const tables = el('div', { cls: 'bt-tables' });
    for (const [key, run] of [
      ['current', r.current],
      ['proposed', r.proposed],
    ] as const)
      tables.append(changeTable(key, run));
    results.append(tables);
    const chartBox = el('div', { cls: 'bt-charts' });
    results.append(el('h3', { text: bt('charts') }), chartBox);
    results.dataset.ready = 'true';
    results.dataset.differ = String(differs);
    void drawCharts(r, chartBox);
  };

  const drawCharts = async (r: Result, box: HTMLElement) => {
    const shown: api.SiteRules | null = rules;
    let series: Series[];
    if (r.source === 'upload' && upload) series = seriesOf(upload.readings, r.sensors);
    else
      series = await Promise.all(
        r.sensors.map(async (s) =>
          fromRange(s.id, s.kind, await api.readings(r.site, s.id, r.from, r.to, 500)),
        ),
      ).catch(() => []);
    if (closed || last !== r) return;
    charts = createChartSet(box, shown, () => [r.from, r.to]);
    charts.update(series, null);
  };

  relabel = label;
  label();
  void loadRules();
  return {
    site,
    update() {
      const have = new Set([...siteSel.options].map((o) => o.value));
      for (const id of siteIds().sort())
        if (!have.has(id)) siteSel.append(el('option', { text: id, attrs: { value: id } }));
    },
    close() {
      closed = true;
      if (relabel === label) relabel = null;
      charts?.destroy();
    },
  };
}

function summaryTable(r: Result): HTMLElement {
  const firstAt = (run: Run, l: number) => {
    if (run.startLevel >= l) return time(r.from);
    const c = run.changes.find((x) => x.level >= l);
    return c ? time(c.ts) : '—';
  };
  const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
  const rows: Array<[string, (run: Run) => string]> = [
    [bt('startLevel'), (run) => `${run.startLevel} ${levelName(run.startLevel)}`],
    [bt('highest'), (run) => `${run.highest} ${levelName(run.highest)}`],
    [bt('changesCount'), (run) => String(run.changes.length)],
    [bt('firstAt', { l: 2 }), (run) => firstAt(run, 2)],
    [bt('firstAt', { l: 3 }), (run) => firstAt(run, 3)],
    [bt('timeAt'), (run) => hours(run.timeAtLevelMs.slice(1).reduce((a, b) => a + b, 0))],
  ];
  const table = el('table', { cls: 'bt-summary', attrs: { id: 'bt-summary' } });
  table.append(el('tr', {}, el('th'), el('th', { text: bt('current') }), el('th', { text: bt('proposed') })));
  for (const [name, f] of rows)
    table.append(
      el(
        'tr',
        {},
        el('th', { text: name }),
        el('td', { text: f(r.current) }),
        el('td', { text: f(r.proposed) }),
      ),
    );
  return table;
}

/** The level over the period as a band of segments: colour, and the level number written in it. */
function band(key: 'current' | 'proposed', run: Run, from: number, to: number): HTMLElement {
  const span = Math.max(1, to - from);
  const strip = el('div', { cls: 'bt-band', attrs: { 'data-run': key, role: 'img' } });
  const segments: Array<{ a: number; b: number; level: number }> = [];
  let level = run.startLevel;
  let a = from;
  for (const c of run.changes) {
    if (c.ts > a) segments.push({ a, b: c.ts, level });
    a = Math.max(a, c.ts);
    level = c.level;
  }
  segments.push({ a, b: to, level });
  const words: string[] = [];
  for (const s of segments) {
    if (s.b <= s.a && segments.length > 1) continue;
    const seg = el('span', { cls: `bt-seg lv-${s.level}`, text: String(s.level) });
    seg.style.width = `${(Math.max(0, s.b - s.a) / span) * 100}%`;
    seg.title = `${s.level} ${levelName(s.level)}: ${time(s.a)} – ${time(s.b)}`;
    strip.append(seg);
    words.push(`${s.level} ${levelName(s.level)} ${time(s.a)}`);
  }
  strip.setAttribute('aria-label', `${bt(key)}: ${words.join(', ')}`);
  return el('div', { cls: 'bt-band-row' }, el('span', { cls: 'bt-band-name', text: bt(key) }), strip);
}

function changeTable(key: 'current' | 'proposed', run: Run): HTMLElement {
  const box = el('div', { cls: 'bt-changes', attrs: { 'data-run': key } });
  box.append(
    el('h3', { text: `${bt('changes')} — ${bt(key)}${run.truncated ? ` ${bt('truncated')}` : ''}` }),
  );
  if (run.changes.length === 0) {
    box.append(el('p', { text: bt('noChanges') }));
    return box;
  }
  const table = el('table', { cls: 'timeline' });
  table.append(
    el(
      'tr',
      {},
      el('th', { text: bt('when') }),
      el('th', { text: bt('level') }),
      el('th', { text: bt('previous') }),
      el('th', { text: bt('why') }),
    ),
  );
  for (const c of run.changes) {
    const row = el(
      'tr',
      { attrs: { 'data-level': String(c.level), 'data-ts': String(c.ts) } },
      el('td', { text: time(c.ts) }),
      el(
        'td',
        {},
        el('span', { cls: `badge cond-ok lv-${c.level}`, text: `${c.level} ${levelName(c.level)}` }),
      ),
      el('td', { text: String(c.previous) }),
      el('td', { text: c.reasons.map(reasonWords).join('; ') }),
    );
    table.append(row);
  }
  box.append(table);
  return box;
}

/** Chart series from uploaded readings (raw, no buckets). */
function seriesOf(readings: readonly UploadReading[], sensors: Result['sensors']): Series[] {
  const out: Series[] = [];
  for (const s of sensors) {
    const mine = readings.filter((r) => r.sensor === s.id && r.kind === s.kind).sort((a, b) => a.ts - b.ts);
    if (mine.length === 0) continue;
    const series: Series = { id: s.id, kind: s.kind, ts: [], fields: {}, sum: [], loadedTo: 0 };
    for (const r of mine) {
      series.ts.push(r.ts);
      for (const [f, v] of Object.entries(r.values)) {
        const col = series.fields[f] ?? [];
        series.fields[f] = col;
        while (col.length < series.ts.length - 1) col.push(Number.NaN);
        col.push(v);
      }
      series.sum.push(r.values.mm ?? 0);
    }
    series.loadedTo = series.ts[series.ts.length - 1] ?? 0;
    out.push(series);
  }
  return out;
}
