import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@slopeguard/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readReadings, scanSensors } from '../backtest/source.ts';

/**
 * The CSV reader has a fast path (plain rows read straight from the bytes: epoch-ms digits, a plain
 * decimal) and the text path (any row with a quote, and any field the fast path does not take:
 * ISO times, exponents, spaces, hex). Both must read the same file the same way: a row with every
 * field quoted goes the text path, the same row unquoted the fast one.
 */
const dir = mkdtempSync(join(tmpdir(), 'sg-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Reads a file; `transient` as the backtest command does (one reused Reading per sensor). */
async function read(
  text: string | Buffer,
  transient = false,
): Promise<{ readings: [Reading, number][]; errors: string[] }> {
  const path = join(dir, `f${files++}.csv`);
  writeFileSync(path, text);
  const readings: [Reading, number][] = [];
  const errors: string[] = [];
  await readReadings(path, {
    transient,
    reading: (r, line) => readings.push([transient ? structuredClone(r) : r, line]),
    error: (line, message) => errors.push(`${line}: ${message}`),
  });
  return { readings, errors };
}

const quoteAll = (row: string) =>
  row
    .split(',')
    .map((f) => `"${f}"`)
    .join(',');

const HEADER = 'ts,sensor,kind,field,value';
const ROWS = [
  '1311562800000,rain-1,rain,mm,1.5',
  '1311562800000,tilt-1,tilt,x,-0.012345678901234',
  '1311562800000,tilt-1,tilt,y,0',
  '1311562860000,rain-1,rain,mm,-0',
  '1311562860000,tilt-1,tilt,x,.5',
  '1311562860000,tilt-1,tilt,y,5.',
  '1311562920000,rain-1,rain,mm,1e-3',
  '1311562920000,tilt-1,tilt,x, 7 ',
  '1311562920000,tilt-1,tilt,y,+2',
  '1311562980000,rain-1,rain,mm,0x10',
  '1311562980000,tilt-1,tilt,x,123456789012345678',
  '1311562980000,tilt-1,tilt,y,0.1234567890123456789',
  '2011-07-25T12:04:00Z,rain-1,rain,mm,3',
  '2011-07-25T12:04:00Z,tilt-1,tilt,x,1',
  '2011-07-25T12:04:00Z,tilt-1,tilt,y,2',
  ' 1311563100000,rain-1,rain,mm,4',
  '0001311563160000,rain-1,rain,mm,4',
  '1311563220000,rain-1,rain,mm,',
  '1311563220000,rain-1,rain,mm,-',
  '1311563220000,rain-1,rain,mm,.',
  '1311563220000,rain-1,rain,mm,1..2',
  '1311563220000,rain-1,rain,mm,Infinity',
  '1311563220000,rain-1,rain,mm,--1',
  '1311563280000,Bad Id,rain,mm,1',
  '1311563280000,rain-1,snow,mm,1',
  'yesterday,rain-1,rain,mm,1',
  '2011-07-25T12:00:00,rain-1,rain,mm,1',
  '1311563340000,rain-1,rain,mm,2',
  '1311563340000,rain-1,rain,mm,2',
  '1311563400000,tilt-1,tilt,x,1',
  '1311563460000,rain-1,rain,mm,9007199254740993',
];

describe('backtest CSV reader: fast path and text path', () => {
  it('reads every row, good and bad, as the text path does', async () => {
    const plain = await read(`${HEADER}\n${ROWS.join('\n')}\n`);
    const quoted = await read(`${HEADER}\n${ROWS.map(quoteAll).join('\n')}\n`);
    expect(plain).toEqual(quoted);
    expect(await read(`${HEADER}\n${ROWS.join('\n')}\n`, true)).toEqual(plain);
    // Object.is: -0 stays -0, and every value is Number(text) exactly.
    const mm = plain.readings.filter(([r]) => r.sensor === 'rain-1').map(([r]) => r.values.mm);
    expect(Object.is(mm[1], -0)).toBe(true);
    expect(plain.readings.map(([r]) => r.values)).toContainEqual({ x: 0.5, y: 5 });
    expect(plain.errors.length).toBeGreaterThanOrEqual(10);
  });

  it('reuses readings only as a fresh one would read: fields in their order, none left over', async () => {
    const rows = [
      '1000,tilt-1,tilt,x,1',
      '1000,tilt-1,tilt,y,2',
      '2000,tilt-1,tilt,y,3',
      '2000,tilt-1,tilt,x,4',
      '3000,tilt-1,tilt,x,5',
      '4000,tilt-1,tilt,x,6',
      '4000,tilt-1,tilt,y,7',
      '4000,tilt-1,tilt,z,8',
      '5000,tilt-1,tilt,constructor,1',
      '5000,tilt-1,tilt,x,9',
      '5000,tilt-1,tilt,constructor,2',
      '6000,tilt-1,displacement,mm,1',
      '6000,tilt-1,tilt,x,1',
    ];
    const text = `${HEADER}\n${rows.join('\n')}\n`;
    const fresh = await read(text);
    const reused = await read(text, true);
    expect(reused).toEqual(fresh);
    expect(fresh.readings.map(([r]) => Object.keys(r.values))).toEqual([
      ['x', 'y'],
      ['y', 'x'],
      ['x', 'y', 'z'],
      ['mm'],
    ]);
    expect(fresh.errors.map((e) => e.replace(/:.*/, ''))).toEqual(['6', '12', '10', '14']);
  });

  it('takes CRLF, a BOM, comments and a last line without a newline; lines cut across chunks', async () => {
    // 40,000 rows (2 MB) cross the 1 MB chunks of the reader.
    const rows: string[] = [];
    for (let k = 0; k < 40_000; k++)
      rows.push(`${1311562800000 + k * 60_000},ext-1,displacement,mm,${(k * 0.37) % 97}`);
    const text = `\uFEFF# exported\r\n${HEADER}\r\n${rows.join('\r\n')}`;
    const r = await read(text);
    expect(r.errors).toEqual([]);
    expect(r.readings.length).toBe(40_000);
    expect(r.readings.map(([x]) => x.values.mm)).toEqual(rows.map((l) => Number(l.split(',')[4])));
    expect(r.readings.at(-1)?.[1]).toBe(40_002);
    expect(await scanSensors(join(dir, `f${files - 1}.csv`))).toEqual(new Map([['ext-1', 'displacement']]));
  });

  it('reads rows in any order (keys that do not follow the usual order), as the text path does', async () => {
    // The reader compares a row's "sensor,kind,field" with the one that followed the previous
    // row's last time, then by hash, and its time with the previous row's digits: shuffled keys,
    // bad keys, a known key run into the next field, times that share leading digits, CR LF, blank
    // and comment lines.
    const keys = [
      'rain-1,rain,mm',
      'tilt-1,tilt,x',
      'tilt-1,tilt,y',
      'ext-1,displacement,mm',
      'Bad Id,rain,mm',
      'ext-1,rain,mm',
      'rain-1,rain,m m',
    ];
    const row = fc
      .tuple(
        fc.nat(5),
        fc.constantFrom(...keys),
        fc.oneof(fc.double({ noNaN: true }).map(String), fc.constantFrom('1', '-2.5', '', '"3"', '4,5')),
        fc.constantFrom('', '\r'),
      )
      .map(([t, key, v, cr]) => `${1311562800000 + t * 60_000},${key},${v}${cr}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            row,
            row,
            row,
            fc.constantFrom(
              '',
              '# note',
              '\r',
              // a known key run into the next field: 4 fields, not rain-1's mm
              '1311562800000,rain-1,rain,mm;7',
              '1311562800000,tilt-1,tilt,x-1',
              // times whose digits start like another's
              '131156280000,rain-1,rain,mm,1',
              '13115628000000,rain-1,rain,mm,1',
            ),
          ),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        async (rows) => {
          const plain = await read(`${HEADER}\n${rows.join('\n')}\n`);
          const quoted = await read(
            `${HEADER}\n${rows.map((l) => (l.trim() === '' || l.startsWith('#') ? l : quoteAll(l.replaceAll('"', '').replace(/\r$/, '')) + (l.endsWith('\r') ? '\r' : ''))).join('\n')}\n`,
          );
          expect(plain).toEqual(quoted);
          expect(await read(`${HEADER}\n${rows.join('\n')}\n`, true)).toEqual(plain);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('reads any decimal exactly as Number does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
            fc
              .tuple(fc.boolean(), fc.stringMatching(/^\d{0,12}$/), fc.stringMatching(/^\d{0,12}$/))
              .map(([neg, a, b]) => `${neg ? '-' : ''}${a}.${b}`),
            fc.stringMatching(/^-?\d{1,20}$/),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        async (values) => {
          const rows = values.map((v, k) => `${1311562800000 + k * 60_000},rain-1,rain,mm,${v}`);
          const plain = await read(`${HEADER}\n${rows.join('\n')}\n`);
          const quoted = await read(`${HEADER}\n${rows.map(quoteAll).join('\n')}\n`);
          expect(plain).toEqual(quoted);
          expect(await read(`${HEADER}\n${rows.join('\n')}\n`, true)).toEqual(plain);
          for (const [r, line] of plain.readings)
            expect(Object.is(r.values.mm, Number(values[line - 2]))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
