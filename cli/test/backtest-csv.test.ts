import { describe, expect, it } from 'vitest';
import { csvField, parseCsvLine, readingRows } from '../backtest/csv.ts';
import { formatSpan, parseTime } from '../backtest/time.ts';

describe('backtest CSV dialect', () => {
  it('splits plain and quoted fields, with "" for a quote and CRLF endings', () => {
    expect(parseCsvLine('1,a,b,c,2')).toEqual({ ok: true, fields: ['1', 'a', 'b', 'c', '2'] });
    expect(parseCsvLine('1,"a,b","say ""hi""",,x\r')).toEqual({
      ok: true,
      fields: ['1', 'a,b', 'say "hi"', '', 'x'],
    });
    expect(parseCsvLine('"x"')).toEqual({ ok: true, fields: ['x'] });
    expect(parseCsvLine('"x",')).toEqual({ ok: true, fields: ['x', ''] });
  });

  it('rejects broken quoting', () => {
    expect(parseCsvLine('"abc,1').ok).toBe(false);
    expect(parseCsvLine('"a"b,1').ok).toBe(false);
    expect(parseCsvLine('a"b,1').ok).toBe(false);
  });

  it('writes one row per value field and quotes only when needed', () => {
    expect(readingRows({ ts: 5, sensor: 't1', kind: 'tilt', values: { x: 0.5, y: -1 } })).toEqual([
      '5,t1,tilt,x,0.5',
      '5,t1,tilt,y,-1',
    ]);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('plain')).toBe('plain');
  });

  it('takes epoch ms or ISO 8601 with an offset, and refuses local times', () => {
    expect(parseTime('1311562800000')).toEqual({ ok: true, ts: 1311562800000 });
    expect(parseTime('2011-07-27T07:40:00+09:00')).toEqual({ ok: true, ts: Date.UTC(2011, 6, 26, 22, 40) });
    expect(parseTime('2011-07-26T22:40Z')).toEqual({ ok: true, ts: Date.UTC(2011, 6, 26, 22, 40) });
    expect(parseTime('2011-07-27 07:40:00.5+0900')).toEqual({
      ok: true,
      ts: Date.UTC(2011, 6, 26, 22, 40, 0, 500),
    });
    expect(parseTime('2011-07-27T07:40:00')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no offset/),
    });
    expect(parseTime('-5').ok).toBe(false);
    expect(parseTime('2011-13-45T00:00Z').ok).toBe(false);
  });

  it('formats spans for people', () => {
    expect(formatSpan(20_000)).toBe('20 s');
    expect(formatSpan(45 * 60_000)).toBe('45 min');
    expect(formatSpan(200 * 60_000)).toBe('3 h 20 min');
    expect(formatSpan(52 * 3_600_000)).toBe('2 d 4 h');
  });
});
