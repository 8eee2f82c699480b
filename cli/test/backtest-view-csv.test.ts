import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@slopeguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBacktestFile } from '../../control-center/web/backtest-csv.ts';
import { readReadings } from '../backtest/source.ts';

/**
 * The dashboard's backtest view reads an uploaded file in the browser (control-center/web/
 * backtest-csv.ts); the CLI reads the same format from disk (cli/backtest/source.ts). A valid file
 * must give the same readings through both, so a run in the page and `slopeguard backtest` agree.
 */
const dir = mkdtempSync(join(tmpdir(), 'sg-btview-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function viaCli(text: string): Promise<{ readings: Reading[]; bad: number[] }> {
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, text);
  const readings: Reading[] = [];
  const bad: number[] = [];
  await readReadings(file, { reading: (r) => readings.push(structuredClone(r)), error: (n) => bad.push(n) });
  return { readings, bad };
}

describe("the backtest view's file reader", () => {
  it('reads a CSV as the CLI does: tilt x and y grouped, ISO and epoch times, quotes, CRLF, comments', async () => {
    const text = [
      '\uFEFFts, sensor, kind, field, value',
      '# a comment',
      '2011-07-27T07:00:00+09:00,tilt-1,tilt,x,0.5',
      '2011-07-27T07:00:00+09:00,tilt-1,tilt,y,-0.25\r',
      '2011-07-27T07:00:00+09:00,rain-1,rain,mm,1.5',
      '',
      '1311717900000,"rain-1",rain,mm,"2"',
      '1311717900000,tilt-1,tilt,x,0.51',
      '1311717900000,tilt-1,tilt,y,-0.26',
      '1311718200000,ext-1,displacement,mm,-3.25',
    ].join('\n');
    const page = parseBacktestFile(text, 1000);
    const cli = await viaCli(text);
    expect(page.bad).toBe(0);
    expect(cli.bad).toEqual([]);
    expect(page.readings).toEqual(cli.readings);
    expect(page.readings).toHaveLength(5);
    expect(page.readings[0]).toEqual({
      sensor: 'tilt-1',
      kind: 'tilt',
      ts: 1311717600000,
      values: { x: 0.5, y: -0.25 },
    });
  });

  it('skips the same bad rows, by line number, and reads NDJSON', async () => {
    const text = [
      'ts,sensor,kind,field,value',
      '2011-07-27 07:00,rain-1,rain,mm,1',
      '1311717600000,rain-1,rain,mm,',
      '1311717600000,rain-1,rain,mm,abc',
      '1311717600000,rain-1,rain',
      '"1311717600000,rain-1,rain,mm,1',
      '1311717600000,rain-1,rain,mm,4',
    ].join('\n');
    const page = parseBacktestFile(text, 1000);
    const cli = await viaCli(text);
    expect(page.problems.map((p) => Number(/^line (\d+)/.exec(p)?.[1]))).toEqual(cli.bad);
    expect(page.problems[0]).toMatch(/no offset/);
    expect(page.readings).toEqual(cli.readings);
    const nd = '{"sensor":"rain-1","kind":"rain","ts":5,"values":{"mm":1}}\nnot json\n';
    const fromNd = parseBacktestFile(nd, 1000);
    expect(fromNd.readings).toEqual([{ sensor: 'rain-1', kind: 'rain', ts: 5, values: { mm: 1 } }]);
    expect(fromNd.problems).toEqual(['line 2: not JSON']);
  });

  it('refuses a file that is not a backtest file, and stops at the reading limit', () => {
    expect(parseBacktestFile('name,value\nx,1\n', 10).notBacktest).toBe(true);
    expect(parseBacktestFile('', 10).notBacktest).toBe(true);
    const rows = ['ts,sensor,kind,field,value'];
    for (let i = 0; i < 20; i++) rows.push(`${i},rain-1,rain,mm,1`);
    const capped = parseBacktestFile(rows.join('\n'), 10);
    expect(capped.tooMany).toBe(true);
    expect(capped.readings).toHaveLength(10);
  });
});
