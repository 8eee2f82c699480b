/**
 * The alert engine under load (issue 3): backtest throughput on one core, and the size of one
 * site's engine state at one-second sampling.
 *
 * - engine: a year of one-minute data from a 10-sensor site (2 rain gauges, 4 tilt sensors, 4
 *   extensometers; monsoon storms, slow creep, noise), pushed reading by reading. The readings of
 *   each simulated day are generated before that day is timed, so only the engine is measured.
 * - backtest CLI: `slopeguard backtest` as a child process on a CSV file of 60 days of the same
 *   site (CSV parsing, grouping, checks, engine, JSON output to /dev/null). Reported with and
 *   without the process start-up (timed on `backtest --help`: loading every CLI command), which a
 *   year-long file amortises.
 * - state: 26 h at one-second sampling (every rate window full), then JSON size of state() and
 *   the heap one resumed engine holds (measured over many copies, after GC).
 * - sweep (issue 14): the year of one-minute data packed once, then SWEEP_SETTINGS (default 100)
 *   values of rules.rain.swi.criticalMm replayed and scored against three events on worker threads
 *   (one per core), as `backtest --sweep` does. Target: 100 settings in <= 60 s on 2 cores.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Reading } from '@slopeguard/core';
import { createEngine, type Engine, siteConfig } from '@slopeguard/core/engine/index.ts';
import {
  extensometer,
  HOUR,
  MIN,
  type RainSegment,
  rainGauge,
  type SensorModel,
  steadyCreep,
  tiltmeter,
} from '@slopeguard/simulators/scenarios/models.ts';
import { CSV_HEADER, readingRows } from '../cli/backtest/csv.ts';
import { Packer } from '../cli/backtest/pack.ts';
import { runSweep } from '../cli/backtest/sweep-pool.ts';
import type { BenchResult } from './run.ts';

const DAY = 24 * HOUR;
const START = Date.UTC(2024, 0, 1);

function site(days: number) {
  const noise = { seed: 11, origin: START };
  // A storm of 6-30 h every 9 days, up to 30 mm/h.
  const storms: RainSegment[] = [];
  for (let d = 3; d < days; d += 9)
    for (let h = 0; h < 6 + (d % 25); h++)
      storms.push({
        from: START + d * DAY + h * HOUR,
        to: START + d * DAY + (h + 1) * HOUR,
        mm: 5 + ((h * 7) % 25),
      });
  const creep = steadyCreep(START + 100 * DAY, 0.6);
  const models: SensorModel[] = [
    rainGauge('rain-1', storms),
    rainGauge(
      'rain-2',
      storms.map((s) => ({ ...s, mm: s.mm * 0.8 })),
    ),
    ...[1, 2, 3, 4].map((i) =>
      tiltmeter(`tilt-${i}`, i, noise, [0.1 * i, -0.2 * i], i, (t) => 0.002 * creep(t)),
    ),
    ...[1, 2, 3, 4].map((i) => extensometer(`ext-${i}`, 10 + i, noise, 20 * i, (t) => (creep(t) * i) / 4)),
  ];
  const config = siteConfig({ id: 'bench', sensors: models.map((m) => ({ id: m.id, kind: m.kind })) });
  return { models, config };
}

function* day(models: readonly SensorModel[], from: number, to: number, step: number): Generator<Reading> {
  for (let ts = from; ts < to; ts += step)
    for (const m of models) {
      const values = m.value(ts, step);
      if (values) yield { sensor: m.id, kind: m.kind, ts, values };
    }
}

function engineThroughput(days: number): { readings: number; seconds: number; changes: number } {
  const { models, config } = site(days);
  const engine = createEngine(config);
  let readings = 0;
  let changes = 0;
  let ms = 0;
  for (let d = 0; d < days; d++) {
    const batch = [...day(models, START + d * DAY, START + (d + 1) * DAY, MIN)];
    const t0 = performance.now();
    for (const r of batch) changes += engine.push(r).length;
    ms += performance.now() - t0;
    readings += batch.length;
  }
  return { readings, seconds: ms / 1000, changes };
}

function cliThroughput(days: number): { readings: number; seconds: number; startup: number } {
  const { models } = site(days);
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-backtest-'));
  const root = new URL('../', import.meta.url).pathname;
  const cli = (args: string[]) => {
    const t0 = performance.now();
    execFileSync(process.execPath, ['bin/slopeguard.mjs', 'backtest', ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return (performance.now() - t0) / 1000;
  };
  try {
    const file = join(dir, 'site.csv');
    const rows = [CSV_HEADER];
    let readings = 0;
    for (const r of day(models, START, START + days * DAY, MIN)) {
      rows.push(...readingRows(r));
      readings++;
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
    rows.length = 0;
    const startup = Math.min(cli(['--help']), cli(['--help']));
    const seconds = Math.min(cli(['--readings', file]), cli(['--readings', file]));
    return { readings, seconds, startup };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sweepTime(settings: number): Promise<{ readings: number; seconds: number; workers: number }> {
  const { models, config } = site(365);
  const packer = new Packer(config);
  let readings = 0;
  for (const r of day(models, START, START + 365 * DAY, MIN)) {
    packer.add(r);
    readings++;
  }
  const packed = packer.pack();
  const known = [40, 130, 250].map((d, k) => ({
    ts: START + d * DAY,
    kind: 'landslide' as const,
    end: null,
    note: '',
    line: k + 2,
  }));
  const combos = Array.from({ length: settings }, (_, k) => [60 + 5 * k]);
  const workers = availableParallelism();
  const t0 = performance.now();
  await runSweep(
    config,
    ['rules.rain.swi.criticalMm'],
    combos,
    packed,
    known,
    {
      alarmLevel: 3,
      windowMs: 24 * HOUR,
      falseWindowMs: 24 * HOUR,
    },
    workers,
  );
  return { readings, seconds: (performance.now() - t0) / 1000, workers };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function stateSize(): { json: number; heap: number; readings: number } {
  const { models, config } = site(2);
  const engine = createEngine(config);
  let readings = 0;
  for (const r of day(models, START, START + 26 * HOUR, 1000)) {
    engine.push(r);
    readings++;
  }
  const state = engine.state();
  const json = Buffer.byteLength(JSON.stringify(state));
  const copies = 200;
  gc();
  const before = process.memoryUsage().heapUsed;
  const held: Engine[] = [];
  for (let i = 0; i < copies; i++) held.push(createEngine(config, state));
  gc();
  const heap = (process.memoryUsage().heapUsed - before) / copies;
  if (held.length !== copies) throw new Error('unreachable');
  return { json, heap: Math.round(heap), readings };
}

export async function run(): Promise<BenchResult[]> {
  const year = engineThroughput(365);
  const cli = cliThroughput(60);
  const state = stateSize();
  const settings = Number(process.env.SWEEP_SETTINGS ?? 100);
  const sweep = await sweepTime(settings);
  const engineRate = Math.round(year.readings / year.seconds);
  const cliRaw = Math.round(cli.readings / cli.seconds);
  const cliNet = Math.round(cli.readings / (cli.seconds - cli.startup));
  return [
    {
      name: 'engine: 1 year, 1-min, 10 sensors, readings/s',
      value: engineRate,
      unit: 'readings/s',
      target: '>= 500000',
      pass: engineRate >= 500_000,
    },
    {
      name: `engine: the year (${year.readings.toLocaleString('en-US')} readings)`,
      value: year.seconds,
      unit: 's',
    },
    { name: 'engine: level changes in the year', value: year.changes, unit: 'changes' },
    {
      name: `backtest CLI, CSV, 60 days (${cli.readings.toLocaleString('en-US')} readings)`,
      value: cli.seconds,
      unit: 's',
    },
    { name: 'backtest CLI start-up (--help)', value: cli.startup, unit: 's' },
    { name: 'backtest CLI incl. start-up, readings/s', value: cliRaw, unit: 'readings/s' },
    {
      name: 'backtest CLI after start-up, readings/s',
      value: cliNet,
      unit: 'readings/s',
      target: '>= 1000000',
      pass: cliNet >= 1_000_000,
    },
    {
      name: 'state, 10 sensors at 1-s sampling: JSON',
      value: state.json,
      unit: 'bytes',
      target: '<= 131072',
      pass: state.json <= 131_072,
    },
    {
      name: 'state, 10 sensors at 1-s sampling: heap',
      value: state.heap,
      unit: 'bytes',
      target: '<= 131072',
      pass: state.heap <= 131_072,
    },
    {
      name: `sweep: ${settings} settings x ${sweep.readings.toLocaleString('en-US')} readings, ${sweep.workers} workers`,
      value: sweep.seconds,
      unit: 's',
      ...(settings === 100 ? { target: '<= 60', pass: sweep.seconds <= 60 } : {}),
    },
    {
      name: 'sweep: readings replayed per second, all workers',
      value: Math.round((settings * sweep.readings) / sweep.seconds),
      unit: 'readings/s',
    },
  ];
}
