import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvents } from '../backtest/events.ts';
import { episodes, scoreRun, type Timeline, YEAR_MS } from '../backtest/score.ts';

/**
 * Acceptance 1 of issue 14: lead times, misses and false alarms computed by hand for small fixtures
 * match the tool's output (the pure scorer, and the CLI end to end on a rain-only site).
 */
const H = 3_600_000;
const T0 = Date.UTC(2025, 6, 1);
const at = (h: number) => T0 + h * H;
const ROOT = new URL('../../', import.meta.url).pathname;

function cli(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['bin/slopeguard.mjs', 'backtest', ...args],
      { cwd: ROOT, env: { ...process.env, TZ: 'UTC' }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const ev = (text: string) => parseEvents(text, 'events.csv');

describe('scoring against known events (pure)', () => {
  // Level 1 from h10 to h40, level 3 from h20 to h30 (inside it), level 2 h30-h40; level 3 again
  // h100-h106; data from h0 to h200.
  const t: Timeline = {
    first: at(0),
    last: at(200),
    changes: [
      { ts: at(10), level: 1 },
      { ts: at(20), level: 3 },
      { ts: at(30), level: 2 },
      { ts: at(40), level: 0 },
      { ts: at(100), level: 3 },
      { ts: at(106), level: 0 },
    ],
  };
  const o = { alarmLevel: 3, windowMs: 24 * H, falseWindowMs: 24 * H };

  it('finds the episodes at each level', () => {
    expect(episodes(t, 1).map((e) => [(e.start - T0) / H, (e.end - T0) / H, e.peak])).toEqual([
      [10, 40, 3],
      [100, 106, 3],
    ]);
    expect(episodes(t, 3).map((e) => [(e.start - T0) / H, (e.end - T0) / H])).toEqual([
      [20, 30],
      [100, 106],
    ]);
  });

  it('lead times per level, a miss, a false alarm, and the summary', () => {
    const s = scoreRun(
      t,
      ev(
        [
          'ts,kind,note,end',
          `${at(25)},landslide,during level 3,`,
          `${at(60)},failure,level 3 ended 30 h before: outside the 24 h window,`,
          `${at(150)},movement,no warning at all,`,
          `${at(300)},failure,after the readings,`,
          `${at(90)},none-period,quiet,${at(120)}`,
        ].join('\n'),
      ),
      o,
    );
    // By hand: event h25 is in the L1 episode from h10 and the L3 episode from h20 (L2: same as L3,
    // since L3 >= 2 from h20): leads 15 h, 5 h, 5 h; L4 never.
    expect(s.events[0]).toMatchObject({
      detected: true,
      leadMs: [null, 15 * H, 5 * H, 5 * H, null],
      firstAt: [null, at(10), at(20), at(20), null],
    });
    // Event h60: the window is h36-h60; the L1 episode (from h10) and the L2 one (from h20: L3, then
    // L2) end at h40 and overlap it; L3 ended at h30: missed.
    expect(s.events[1]).toMatchObject({
      detected: false,
      scored: true,
      leadMs: [null, 50 * H, 40 * H, null, null],
    });
    expect(s.events[2]).toMatchObject({
      detected: false,
      scored: true,
      leadMs: [null, null, null, null, null],
    });
    expect(s.events[3]).toMatchObject({ scored: false, detected: false });
    // L3 episodes: h20 (event h25 within 24 h after: true alarm), h100 (no event by h124: false, and
    // it starts inside the none-period h90-h120).
    expect(s.falseAlarms).toEqual([{ start: at(100), end: at(106), peak: 3, inQuietPeriod: true }]);
    expect(s.summary).toEqual({
      events: 3,
      detected: 1,
      missed: 2,
      pod: 1 / 3,
      falseAlarms: 1,
      falseInQuietPeriods: 1,
      years: (200 * H) / YEAR_MS,
      falsePerYear: 1 / ((200 * H) / YEAR_MS),
      leadMedianMs: 5 * H,
      leadWorstMs: 5 * H,
      // 0: h0-10, h40-100, h106-200 = 164 h; 1: h10-20; 2: h30-40; 3: h20-30 and h100-106 = 16 h.
      timeAtLevelMs: [164 * H, 10 * H, 10 * H, 16 * H, 0],
    });
  });

  it('median and worst lead over several detected events; the alarm level is configurable', () => {
    const s = scoreRun(t, ev(`ts,kind\n${at(21)},failure\n${at(29)},failure\n${at(103)},failure`), {
      ...o,
      alarmLevel: 1,
    });
    // L1 leads: 11 h, 19 h, 3 h.
    expect(s.events.map((e) => (e.leadMs[1] as number) / H)).toEqual([11, 19, 3]);
    expect(s.summary).toMatchObject({ pod: 1, leadMedianMs: 11 * H, leadWorstMs: 3 * H, falseAlarms: 0 });
  });

  it('refuses a bad events file with every bad line', () => {
    expect(() => ev('when,what\n1,failure')).toThrow(/expected the header ts,kind,note/);
    expect(() =>
      ev(
        `ts,kind,end\n${at(1)},flood,\n${at(2)},none-period,\n${at(3)},failure,${at(4)}\nyesterday,failure,`,
      ),
    ).toThrow(
      /:2: kind "flood" is not one of[\s\S]*:3: a none-period needs an end time[\s\S]*:4: only a none-period[\s\S]*:5: time "yesterday"/,
    );
  });
});

describe('slopeguard backtest --events (CLI, child process)', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-score-'));
    // A rain gauge read hourly for 10 days; 30 mm/h for 3 h from h24 and from h120. By hand (KMA
    // 60 mm / 90 mm in 3 h, 6 h hold-down per step): level 1 at h25, 2 at h26; the 3-h sum falls to
    // 60 at h27 (raw 1) and 30 at h28 (raw 0), so 2 holds until h27 + 6 = h33, then 1 until h39.
    // Likewise 1 at h121, 2 at h122, 1 at h129, 0 at h135.
    const rows = ['ts,sensor,kind,field,value'];
    for (let h = 0; h < 240; h++) {
      const mm = (h >= 24 && h <= 26) || (h >= 120 && h <= 122) ? 30 : 0;
      rows.push(`${at(h)},r1,rain,mm,${mm}`);
    }
    writeFileSync(file('rain.csv'), `${rows.join('\n')}\n`);
    writeFileSync(
      file('site.yaml'),
      `id: fixture\nsensors:\n  - {id: r1, kind: rain, intervalMs: 3600000}\nrules: {rain: {intensityDuration: {enabled: false}}}\n`,
    );
    writeFileSync(
      file('events.csv'),
      [
        'ts,kind,note,end',
        '2025-07-02T06:00:00Z,landslide,"slope failed, road closed",', // h30
        `${at(200)},failure,no warning,`,
        `${at(150)},none-period,dry week,${at(190)}`,
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the hand-computed lead times, miss and false alarm; --json carries the same', async () => {
    const args = [
      '--site',
      file('site.yaml'),
      '--readings',
      file('rain.csv'),
      '--events',
      file('events.csv'),
    ];
    const human = await cli([...args, '--alarm-level', '2']);
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(
      /2025-07-02 06:00 \+00:00 +landslide +detected 탐지 +5 h +4 h +- +- +slope failed, road closed/,
    );
    expect(human.stderr).toMatch(/2025-07-09 08:00 \+00:00 +failure +MISSED 미탐지 +- +- +- +-/);
    expect(human.stderr).toMatch(/2025-07-06 02:00 \+00:00 +2025-07-06 09:00 \+00:00 +7 h +2 주의 Caution/);
    expect(human.stderr).toMatch(/Detection 탐지율 +50\.0 % \(1 of 2 events; 1 missed\)/);
    expect(human.stderr).toMatch(/Lead time 선행 시간 +median 4 h, worst 4 h/);
    expect(human.stdout.trim().split('\n')).toHaveLength(8); // the level changes, as before

    const json = await cli([...args, '--alarm-level', '2', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.changes.map((c: { ts: number; level: number }) => [(c.ts - T0) / H, c.level])).toEqual([
      [25, 1],
      [26, 2],
      [33, 1],
      [39, 0],
      [121, 1],
      [122, 2],
      [129, 1],
      [135, 0],
    ]);
    expect(doc.score.events.map((e: { leadMs: (number | null)[] }) => e.leadMs)).toEqual([
      [null, 5 * H, 4 * H, null, null],
      [null, null, null, null, null],
    ]);
    expect(doc.score.falseAlarms).toEqual([{ start: at(122), end: at(129), peak: 2, inQuietPeriod: false }]);
    expect(doc.score.summary).toMatchObject({ events: 2, detected: 1, missed: 1, falseAlarms: 1 });
    expect(doc.score.summary.falsePerYear).toBeCloseTo(1 / ((239 * H) / YEAR_MS), 9);

    // At the default alarm level 3 nothing is detected, and a bad events file stops the run.
    const three = JSON.parse((await cli([...args, '--json'])).stdout);
    expect(three.score.summary).toMatchObject({ detected: 0, missed: 2, falseAlarms: 0, pod: 0 });
    writeFileSync(file('bad.csv'), 'ts,kind\nsoon,failure\n');
    const bad = await cli(['--readings', file('rain.csv'), '--events', file('bad.csv')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.csv:2: time "soon"/);
  }, 180_000); // four child processes: minutes on a loaded machine
});
