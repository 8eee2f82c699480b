import { describe, expect, it } from 'vitest';
import { encodeLine, LINE_MAX, parseLine, xorChecksum } from '../src/line/codec.ts';
import { LineFramer } from '../src/serial/line-framer.ts';

const example = '$SG,R,n1,42,ext-1,displacement,mm=12.5;temp_c=21.3*70';

describe('line protocol (docs/line-protocol.md)', () => {
  it('checksum is the XOR of the bytes between $ and * (the documented worked example)', () => {
    expect(xorChecksum('SG,R,n1,42,ext-1,displacement,mm=12.5;temp_c=21.3')).toBe(0x70);
    expect(
      encodeLine({
        type: 'R',
        node: 'n1',
        seq: 42,
        sensor: 'ext-1',
        kind: 'displacement',
        values: { mm: 12.5, temp_c: 21.3 },
      }),
    ).toBe(`${example}\r\n`);
  });
  it('parses R, H and C sentences; lower-case hex is accepted', () => {
    expect(parseLine(example)).toEqual({
      ok: true,
      sentence: {
        type: 'R',
        node: 'n1',
        seq: 42,
        sensor: 'ext-1',
        kind: 'displacement',
        values: { mm: 12.5, temp_c: 21.3 },
      },
    });
    const h = encodeLine({ type: 'H', node: 'n1', seq: 7, values: { supply_v: 3.7 } }).trim();
    expect(parseLine(h)).toMatchObject({ ok: true, sentence: { type: 'H', values: { supply_v: 3.7 } } });
    expect(
      parseLine(encodeLine({ type: 'C', node: '*', seq: 1, values: { interval_ms: 1000 } }).trim()).ok,
    ).toBe(true);
    const lower = encodeLine({ type: 'H', node: 'n1', seq: 7, values: { supply_v: 3.75 } })
      .trim()
      .toLowerCase()
      .replace('$sg,h', '$SG,H');
    expect(parseLine(lower).ok).toBe(true);
  });
  it('rejects bad checksums and malformed sentences with a reason', () => {
    expect(parseLine(example.replace('12.5', '12.6'))).toMatchObject({ ok: false, reason: 'checksum' });
    const bads = [
      'SG,R,n1,42,ext-1,displacement,mm=12.5*00',
      '$SG,R,n1,42,ext-1,displacement,mm=12.5',
      '$SG,R,n1,42,ext-1,displacement,mm=12.5*zz',
    ];
    for (const b of bads) expect(parseLine(b)).toMatchObject({ ok: false, reason: 'bad_line' });
    const seal = (body: string) =>
      `$${body}*${xorChecksum(body).toString(16).toUpperCase().padStart(2, '0')}`;
    for (const body of [
      'XX,R,n1,1,a,tilt,x=1;y=2',
      'SG,R,n1,1,a,wind,x=1',
      'SG,R,N1,1,a,tilt,x=1;y=2',
      'SG,R,n1,70000,a,tilt,x=1',
      'SG,R,n1,1,a,tilt,x=1;x=2',
      'SG,R,n1,1,a,tilt,x=abc',
      'SG,R,n1,1,a,tilt,x=1e999',
      'SG,R,n1,1,a,tilt',
      'SG,Q,n1,1,x=1',
      'SG,H,*,1,x=1',
    ]) {
      expect(parseLine(seal(body)), body).toMatchObject({ ok: false, reason: 'bad_line' });
    }
  });
});

describe('LineFramer', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it('splits CR LF lines across chunk boundaries', () => {
    const f = new LineFramer({ maxLength: 200 });
    expect(f.feed(enc('ab'))).toEqual([]);
    expect(f.feed(enc('c\r\nde\n'))).toEqual(['abc', 'de']);
  });
  it("resynchronises on '$': noise and a cut line before a start are dropped", () => {
    const f = new LineFramer({ maxLength: 200, start: '$' });
    expect(f.feed(enc('xx\u0000$SG,cut-off$SG,good\r\n'))).toEqual(['$SG,good']);
    expect(f.discarded).toBe(3 + 11);
  });
  it('takes a line of exactly LINE_MAX bytes with its CR LF, and drops one byte more', () => {
    const seal = (body: string) =>
      `$${body}*${xorChecksum(body).toString(16).toUpperCase().padStart(2, '0')}`;
    // `$` + body + `*HH` = len: fill the body with fields of up to 15 digits.
    const make = (len: number) => {
      let left = len - 4 - 'SG,H,n1,1,'.length;
      const fields: string[] = [];
      for (let i = 0; left > 0; i++) {
        const name = `f${i}`;
        const digits = Math.min(15, left - name.length - 1 - (left > name.length + 17 ? 1 : 0));
        fields.push(`${name}=${'1'.repeat(digits)}`);
        left -= name.length + 1 + digits + 1;
      }
      return seal(`SG,H,n1,1,${fields.join(';')}`);
    };
    const f = new LineFramer({ maxLength: LINE_MAX, start: '$' });
    const ok = make(LINE_MAX);
    expect(ok.length).toBe(LINE_MAX);
    expect(f.feed(enc(`${ok}\r\n`)).map((l) => parseLine(l).ok)).toEqual([true]);
    const long = make(LINE_MAX + 1);
    expect(long.length).toBe(LINE_MAX + 1);
    expect(f.feed(enc(`${long}\r\n`))).toEqual([]);
  });

  it('drops over-long lines whole and recovers at the next line', () => {
    const f = new LineFramer({ maxLength: 10 });
    expect(f.feed(enc(`${'a'.repeat(30)}\r\nshort\r\n`))).toEqual(['short']);
  });
});
