import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname } from 'node:path';
import { isId, SENSOR_KINDS } from '@slopeguard/core';
import {
  createEngine,
  type LevelChange,
  parseSiteConfigText,
  type SiteConfig,
  siteConfig,
} from '@slopeguard/core/engine/index.ts';
import { type KnownEvent, readEvents } from '../backtest/events.ts';
import { Packer } from '../backtest/pack.ts';
import { type ReportInput, renderReport } from '../backtest/report.ts';
import { ReportCollector } from '../backtest/report-data.ts';
import { type ScoreSummary, scoreRun } from '../backtest/score.ts';
import { renderScore } from '../backtest/score-report.ts';
import { readReadings, SourceError, scanSensors } from '../backtest/source.ts';
import { type BacktestStats, renderSummary } from '../backtest/summary.ts';
import {
  combinations,
  markPareto,
  parseSweep,
  recommend,
  type SweepAxis,
  withSetting,
} from '../backtest/sweep.ts';
import { runSweep } from '../backtest/sweep-pool.ts';
import { renderSweep } from '../backtest/sweep-report.ts';
import { type CliCommand, intFlag, parseFlags, UsageError } from '../command.ts';

const usage = `Usage: slopeguard backtest [--site SITE.yaml] --readings FILE [--summary]
                          [--events EVENTS.csv [--alarm-level N] [--window HOURS] [--false-window HOURS]]
                          [--sweep PATH=FROM:TO:STEP ... [--max-false-per-year N] [--workers N]]
                          [--report OUT.html] [--json]

Replays recorded readings through the alert engine, exactly as the gateway and the control center
run it, and prints every level change. Use it to tune a site's thresholds on recorded storms: edit
the rules in SITE.yaml, run again, compare lead times and false alarms.

Options:
  --site FILE       site configuration (YAML or JSON): sensors and rule overrides. Without it the
                    sensors are taken from the readings and every rule is at its default.
  --readings FILE   CSV with the header ts,sensor,kind,field,value (ts as epoch ms or ISO 8601
                    with an offset; one value per row; the rows of one sensor with the same ts,
                    such as a tilt sensor's x and y, form one reading), or NDJSON of Readings.
  --summary         after the run, a table (on stderr) of the highest level, the time at each
                    level, every level change, the time-of-failure forecasts and sensor health.
  --events FILE     score the run against known events: CSV with the header ts,kind,note (kind
                    failure, landslide, movement, or none-period with an end column). Prints, on
                    stderr, each event's lead time at each level, misses, false alarms and a summary.
  --alarm-level N   the level that counts as a warning for scoring (default 3)
  --window HOURS    a warning counts for an event when its episode overlaps this long before it
                    (default 24)
  --false-window HOURS
                    an episode at the alarm level with no event this long after its start is a
                    false alarm (default: --window)
  --sweep PATH=FROM:TO:STEP
                    (repeatable; needs --events) run every combination of these numeric settings of
                    the site configuration, e.g. rules.rain.swi.criticalMm=60:160:5, on worker
                    threads; print each one's detection, false alarms and lead times, and mark the
                    Pareto front. No level changes are printed.
  --max-false-per-year N
                    recommend the setting with the best detection (then the longest lead) with at
                    most N false alarms per year
  --workers N       worker threads for --sweep (default: the machine's parallelism)
  --report FILE     write a self-contained HTML report (inline SVG, no network): the level band,
                    rain, soil water index, movement with thresholds, events, forecasts, the score,
                    and after a sweep the trade-off between detection and false alarms
  --json            stdout is one JSON document {site, readings, changes, score} instead of one
                    line per level change
  -h, --help        this text

Output (without --json): one JSON object per level change on stdout:
  {"ts": <epoch ms>, "level": n, "previous": n, "reasons": [...]}
Bad rows are reported on stderr with their line number and skipped.

Exit codes: 0 all rows used; 1 some rows were skipped (bad, unknown sensor, out of order);
2 the run could not be made (usage, unreadable file, invalid site file).`;

const MAX_ROW_REPORTS = 100;
const FORECAST_SAMPLE_MS = 600_000;

export const backtestCommand: CliCommand = {
  name: 'backtest',
  summary: 'replay recorded readings through the alert engine and report level changes',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      site: { type: 'string' },
      readings: { type: 'string' },
      summary: { type: 'boolean', default: false },
      events: { type: 'string' },
      'alarm-level': { type: 'string' },
      window: { type: 'string' },
      'false-window': { type: 'string' },
      json: { type: 'boolean', default: false },
      sweep: { type: 'string', multiple: true },
      'max-false-per-year': { type: 'string' },
      workers: { type: 'string' },
      report: { type: 'string' },
    });
    const file = values.readings;
    if (!file) throw new UsageError('--readings FILE is required');
    const alarmLevel = intFlag(values['alarm-level'], 'alarm-level', 3);
    if (alarmLevel < 1 || alarmLevel > 4) throw new UsageError('--alarm-level must be 1 to 4');
    const windowMs = hoursFlag(values.window, 'window', 24);
    const falseWindowMs = hoursFlag(values['false-window'], 'false-window', windowMs / 3_600_000);
    const sweeps = values.sweep ?? [];
    if (sweeps.length > 0 && !values.events) throw new UsageError('--sweep needs --events to score against');
    let axes: SweepAxis[] = [];
    try {
      axes = sweeps.map(parseSweep);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const budgetText = values['max-false-per-year'];
    const budget = budgetText === undefined ? null : Number(budgetText);
    if (budget !== null && !(Number.isFinite(budget) && budget >= 0))
      throw new UsageError(`--max-false-per-year must be a number >= 0, got ${JSON.stringify(budgetText)}`);
    const workers = intFlag(values.workers, 'workers', availableParallelism());
    let known: KnownEvent[] | null = null;
    if (values.events) {
      try {
        known = await readEvents(values.events);
      } catch (err) {
        console.error(`slopeguard backtest: ${(err as Error).message}`);
        return 2;
      }
    }

    let config: SiteConfig;
    let rulesFrom: string;
    try {
      if (values.site) {
        const text = await readFile(values.site, 'utf8');
        const parsed = parseSiteConfigText(
          text,
          extname(values.site).toLowerCase() === '.json' ? 'json' : 'yaml',
        );
        if (!parsed.ok) {
          console.error(`slopeguard backtest: invalid site file ${values.site}:`);
          for (const e of parsed.errors) console.error(`  ${e}`);
          return 2;
        }
        config = parsed.config;
        rulesFrom = values.site;
      } else {
        config = await configFromReadings(file);
        rulesFrom = 'defaults';
      }
    } catch (err) {
      console.error(`slopeguard backtest: ${(err as Error).message}`);
      return 2;
    }

    if (axes.length > 0) {
      try {
        for (const a of axes) withSetting(config, a.path, a.values[0] as number);
      } catch (err) {
        console.error(`slopeguard backtest: ${(err as Error).message}`);
        return 2;
      }
    }
    const packer = axes.length > 0 ? new Packer(config) : null;
    const collector = values.report && !packer ? new ReportCollector() : null;
    const writeReport = async (
      input: Omit<ReportInput, 'site' | 'file' | 'first' | 'last' | 'events' | 'thresholds'>,
    ) => {
      if (!values.report) return;
      await writeFile(
        values.report,
        renderReport({
          site: config.id,
          file,
          first: stats.first ?? 0,
          last: stats.last ?? 0,
          events: known ?? [],
          thresholds: {
            swiCriticalMm: config.rules.rain.swi.criticalMm ?? null,
            cumulativeMm: config.rules.displacement.cumulative.mm ?? null,
          },
          ...input,
        }),
      );
    };
    const engine = createEngine(config);
    const kinds = new Map(config.sensors.map((s) => [s.id, s.kind]));
    // Per sensor by its index: the last time as a float in a typed array (a Map of numbers would box
    // a new heap number on every reading).
    const sensorIndex = new Map(config.sensors.map((s, i) => [s.id, i]));
    const sensorKind = config.sensors.map((s) => s.kind);
    const lastTs = new Float64Array(config.sensors.length).fill(Number.NaN);
    // The first and last time read, for stats.first and .last after the run (a number stored in an
    // object's field that also holds null is a new heap number per store).
    const span = new Float64Array([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const stats: BacktestStats = {
      site: config.id,
      sensors: config.sensors.length,
      rulesFrom,
      file,
      first: null,
      last: null,
      readings: 0,
      skipped: 0,
      changes: [],
      forecasts: new Map(),
      health: {},
      kinds: Object.fromEntries(kinds),
    };
    let reported = 0;
    const skip = (line: number, message: string): void => {
      stats.skipped++;
      if (reported++ < MAX_ROW_REPORTS) console.error(`${file}:${line}: ${message}; row skipped`);
    };
    const out = new Output();
    let forecastSlot = -1;
    const sampleForecasts = (ts: number) => {
      for (const [id, f] of Object.entries(engine.forecasts())) {
        const seen = stats.forecasts.get(id);
        stats.forecasts.set(id, { firstAt: seen?.firstAt ?? ts, lastAt: ts, tf: f.tf, r2: f.r2 });
        collector?.forecast(id, ts, f.tf);
      }
    };
    const emit = (changes: LevelChange[], ts: number) => {
      for (const c of changes) {
        stats.changes.push(c);
        if (!values.json)
          out.write(
            `${JSON.stringify({ ts: c.ts, level: c.level, previous: c.previous, reasons: c.reasons })}\n`,
          );
      }
      sampleForecasts(ts);
    };

    try {
      await readReadings(file, {
        // Nothing below keeps a reading: the engine and the packer copy what they need.
        transient: true,
        error: skip,
        reading(r, line) {
          const i = sensorIndex.get(r.sensor);
          if (i === undefined) return skip(line, `sensor ${r.sensor} is not in the site file`);
          const kind = sensorKind[i];
          if (kind !== r.kind)
            return skip(line, `sensor ${r.sensor} is ${kind} in the site file, ${r.kind} here`);
          const prev = lastTs[i] as number;
          // NaN (no reading yet) compares false.
          if (r.ts <= prev)
            return skip(line, `${r.sensor} at ${r.ts} is not newer than its previous reading (${prev})`);
          lastTs[i] = r.ts;
          stats.readings++;
          if (r.ts < (span[0] as number)) span[0] = r.ts;
          if (r.ts > (span[1] as number)) span[1] = r.ts;
          if (packer) return packer.add(r);
          const changes = engine.push(r);
          if (changes.length > 0) emit(changes, r.ts);
          collector?.reading(r, engine);
          const slot = Math.floor(r.ts / FORECAST_SAMPLE_MS);
          if (slot !== forecastSlot) {
            forecastSlot = slot;
            sampleForecasts(r.ts);
          }
        },
        chunk: () => out.flush(),
      });
    } catch (err) {
      await out.flush();
      if (err instanceof SourceError || (err as NodeJS.ErrnoException).code !== undefined) {
        console.error(`slopeguard backtest: ${file}: ${(err as Error).message}`);
        return 2;
      }
      throw err;
    }
    await out.flush();
    if (stats.readings > 0) {
      stats.first = span[0] as number;
      stats.last = span[1] as number;
    }
    if (reported > MAX_ROW_REPORTS)
      console.error(`... and ${reported - MAX_ROW_REPORTS} more bad rows (${stats.skipped} skipped in all)`);
    if (packer && known) {
      const paths = axes.map((a) => a.path);
      const combos = combinations(axes);
      const options = { alarmLevel, windowMs, falseWindowMs };
      let summaries: ScoreSummary[];
      try {
        summaries = await runSweep(config, paths, combos, packer.pack(), known, options, workers);
      } catch (err) {
        console.error(`slopeguard backtest: sweep failed: ${(err as Error).message}`);
        return 2;
      }
      const results = markPareto(
        combos.map((v, i) => ({ values: v, summary: summaries[i] as ScoreSummary })),
      );
      const best = budget === null ? null : recommend(results, budget);
      console.error(`\n${renderSweep(paths, results, best, budget)}`);
      await writeReport({
        timeline: false,
        changes: [],
        rain: [],
        move: [],
        forecasts: [],
        score: null,
        sweep: { paths, results, best },
      });
      if (values.json) {
        out.write(
          `${JSON.stringify({ site: config.id, readings: stats.readings, sweep: { paths, options, maxFalsePerYear: budget, results, recommended: best } })}\n`,
        );
        await out.flush();
      }
      return stats.skipped > 0 ? 1 : 0;
    }
    if (values.summary) {
      stats.health = engine.health();
      stats.faults = engine.faults();
      console.error(`\n${renderSummary(stats)}`);
    }
    const score =
      known && stats.first !== null && stats.last !== null
        ? scoreRun({ first: stats.first, last: stats.last, changes: stats.changes }, known, {
            alarmLevel,
            windowMs,
            falseWindowMs,
          })
        : null;
    if (score) console.error(`\n${renderScore(score)}`);
    if (collector)
      await writeReport({
        timeline: true,
        changes: stats.changes,
        score,
        sweep: null,
        ...collector.finish(engine),
      });
    if (values.json) {
      out.write(
        `${JSON.stringify({ site: config.id, readings: stats.readings, changes: stats.changes, score })}\n`,
      );
      await out.flush();
    }
    return stats.skipped > 0 ? 1 : 0;
  },
};

/** Without a site file: every sensor seen in the readings (first kind wins), default rules. */
async function configFromReadings(file: string): Promise<SiteConfig> {
  const seen = await scanSensors(file);
  const sensors = [...seen].filter(
    ([id, kind]) => isId(id) && (SENSOR_KINDS as readonly string[]).includes(kind),
  );
  if (sensors.length === 0) throw new SourceError(`${file}: no valid readings`);
  const name = basename(file, extname(file))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '');
  return siteConfig({
    id: isId(name) ? name : 'backtest',
    sensors: sensors.map(([id, kind]) => ({ id, kind })),
  });
}

/** Buffered stdout that respects back-pressure (a year of level changes piped into less). */
class Output {
  private buf: string[] = [];
  private size = 0;
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
  }
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.buf.join('');
    this.buf = [];
    this.size = 0;
    if (!process.stdout.write(text)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
  }
}

function hoursFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback * 3_600_000;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive number of hours, got ${JSON.stringify(value)}`);
  return n * 3_600_000;
}
