import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type LevelChange } from '@slopeguard/core/engine/index.ts';
import { SCENARIOS, type ScenarioRun } from '@slopeguard/simulators/scenarios/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_HEADER, readingRows } from '../backtest/csv.ts';

/**
 * Acceptance 3: `slopeguard backtest` (a child process, through the CLI entry point) on a scenario
 * exported to CSV gives the same level changes as the engine run in-process, and handles bad rows.
 */
const ROOT = new URL('../../', import.meta.url).pathname;

function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['bin/slopeguard.mjs', 'backtest', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const lines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LevelChange);

describe('slopeguard backtest (CLI, child process)', () => {
  let dir: string;
  let run: ScenarioRun;
  let expected: LevelChange[];
  let csvLines: string[];
  const file = (name: string) => join(dir, name);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-backtest-'));
    run = SCENARIOS['umyeonsan-2011']?.create({ intervalMs: 5 * 60_000 }) as ScenarioRun;
    const engine = createEngine(run.config);
    expected = [];
    const ndjson: string[] = [];
    csvLines = [CSV_HEADER];
    for (const r of run.readings()) {
      expected.push(...engine.push(r));
      csvLines.push(...readingRows(r));
      ndjson.push(JSON.stringify(r));
    }
    expected = JSON.parse(JSON.stringify(expected));
    writeFileSync(file('storm.csv'), `${csvLines.join('\n')}\n`);
    writeFileSync(file('storm.ndjson'), `${ndjson.join('\n')}\n`);
    writeFileSync(file('site.json'), JSON.stringify(run.config));
    writeFileSync(
      file('site.yaml'),
      `id: umyeonsan\nsensors:\n${run.sensors.map((s) => `  - {id: ${s.id}, kind: ${s.kind}}`).join('\n')}\n`,
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same level changes as the engine, from CSV with the site file', async () => {
    const r = await cli(['--site', file('site.json'), '--readings', file('storm.csv')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(expected.map((c) => c.level)).toEqual([1, 4]);
    expect(lines(r.stdout)).toEqual(expected);
    // Exactly the keys of the issue, in its order.
    expect(Object.keys(JSON.parse(r.stdout.split('\n')[0] ?? '{}'))).toEqual([
      'ts',
      'level',
      'previous',
      'reasons',
    ]);
  });

  it('gives the same from NDJSON, from a YAML site file, and without a site file (defaults)', async () => {
    for (const args of [
      ['--site', file('site.yaml'), '--readings', file('storm.ndjson')],
      ['--readings', file('storm.csv')],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(lines(r.stdout)).toEqual(expected);
    }
  });

  it('reads ISO 8601 times with an offset', async () => {
    const iso = csvLines.map((l, i) => {
      if (i === 0) return l;
      const [ts, ...rest] = l.split(',');
      const kst = new Date(Number(ts) + 9 * 3_600_000).toISOString().replace('Z', '+09:00');
      return [kst, ...rest].join(',');
    });
    writeFileSync(file('iso.csv'), `${iso.join('\n')}\n`);
    const r = await cli(['--site', file('site.yaml'), '--readings', file('iso.csv')]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(expected);
  });

  it('reports bad rows with their line numbers, skips them, and says so in the exit code', async () => {
    const bad = [...csvLines];
    const inserts: [number, string][] = [
      [3, 'yesterday,rain-1,rain,mm,1'],
      [10, '2011-07-25T12:00:00,rain-1,rain,mm,1'],
      [20, '1311562800000,rain-1,snow,mm,1'],
      [30, '1311562800000,rain-1,rain,mm,lots'],
      [40, '1311562800000,rain-1,rain,mm'],
      [50, '1311562800000,Bad Id,rain,mm,1'],
      [60, '1311562800000,rain-9,rain,mm,1'],
      [70, '"1311562800000,rain-1,rain,mm,1'],
      [2000, '1311562800000,rain-1,rain,mm,3'],
    ];
    // Insert from the top, so that each row lands on its file line (line = index + 1).
    for (const [at, row] of inserts) bad.splice(at - 1, 0, row);
    writeFileSync(file('bad.csv'), `${bad.join('\n')}\n`);
    const r = await cli(['--site', file('site.yaml'), '--readings', file('bad.csv')]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual(expected);
    const reported = r.stderr
      .split('\n')
      .filter((l) => l.startsWith(file('bad.csv')))
      .map((l) => Number(l.slice(file('bad.csv').length + 1).split(':')[0]));
    expect(reported).toEqual(inserts.map(([at]) => at));
    expect(r.stderr).toMatch(/:10: time "2011-07-25T12:00:00" has no offset/);
    expect(r.stderr).toMatch(/:60: sensor rain-9 is not in the site file/);
    expect(r.stderr).toMatch(/:2000: rain-1 at 1311562800000 is not newer than its previous reading/);
  });

  it('prints a summary table with bilingual level names', async () => {
    const r = await cli(['--site', file('site.yaml'), '--readings', file('storm.csv'), '--summary'], {
      TZ: 'Asia/Seoul',
    });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(expected);
    expect(r.stderr).toContain('Backtest summary 백테스트 요약');
    expect(r.stderr).toMatch(/Highest 최고 단계 +4 심각 Serious from 2011-07-27 0\d:\d\d \+09:00/);
    expect(r.stderr).toMatch(/3 경계 Warning +0 s/);
    expect(r.stderr).toMatch(/ext-1 +2011-07-27 \d\d:\d\d \+09:00 +2011-07-27 0[78]:\d\d \+09:00 +0\.9\d\d/);
    expect(r.stderr).toMatch(/ext-1 +displacement +[\d,]+ +stale/);
  });

  it('refuses bad usage and lists every error of an invalid site file', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--readings FILE is required/);
    writeFileSync(
      file('bad-site.yaml'),
      'id: X\nsensors:\n  - {id: a, kind: tilts}\nrules: {tilt: {level1: {degPerHour: 0}}}\n',
    );
    const r = await cli(['--site', file('bad-site.yaml'), '--readings', file('storm.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/id: /);
    expect(r.stderr).toMatch(/\/sensors\/0\/kind: expected one of/);
    expect(r.stderr).toMatch(/\/rules\/tilt\/level1\/degPerHour: /);
    const missing = await cli(['--readings', file('nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.csv/);
    writeFileSync(file('junk.csv'), 'time,who,what\n1,2,3\n');
    const junk = await cli(['--readings', file('junk.csv')]);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/line 1: expected the CSV header/);
    expect(readFileSync(file('storm.csv'), 'utf8').startsWith(CSV_HEADER)).toBe(true);
  });
});
