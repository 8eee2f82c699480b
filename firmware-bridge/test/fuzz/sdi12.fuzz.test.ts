import { describe, expect, it } from 'vitest';
import { formatValue, parseAddress, parseData, parseMeasure } from '../../src/sdi12/codec.ts';
import { withSdi12Crc } from '../../src/sdi12/crc.ts';
import { LineFramer } from '../../src/serial/line-framer.ts';
import { ascii, FUZZ_CASES, Gen, TEXTISH } from './gen.ts';

/**
 * Acceptance item 4: the SDI-12 stages (line framer + response parsers, CRC), 100,000 random and
 * mutated responses, no exception escapes. After the noise, a good response is decoded on both
 * paths the master takes: a new command discards stale bytes (reset), or the noise ends at a line end.
 */
describe('fuzz: SDI-12 response decoding', () => {
  it(`${FUZZ_CASES} random and mutated responses: never throws; a good response after noise is decoded`, () => {
    const seed = 0x5eed03;
    const g = new Gen(seed);
    const value = () => Math.round((g.next() - 0.5) * 2e5) / 100;
    const dataLine = (crc: boolean, n: number) => {
      const body = `3${Array.from({ length: n }, () => formatValue(value(), 2)).join('')}`;
      return `${crc ? withSdi12Crc(body) : body}\r\n`;
    };
    const corpus = [
      dataLine(true, 3),
      dataLine(false, 2),
      dataLine(true, 1),
      '30012\r\n',
      '3\r\n',
      '3I\r\n',
    ].map(ascii);
    const framer = new LineFramer({ maxLength: 96 });
    let goodDecoded = 0;
    for (let i = 0; i < FUZZ_CASES; i++) {
      const noise = g.fuzzFrame(corpus, 120, g.next() < 0.5 ? TEXTISH : undefined);
      const crc = g.next() < 0.5;
      try {
        for (const c of g.chunks(noise)) {
          for (const line of framer.feed(c)) {
            parseData(line, '3', crc);
            parseMeasure(line, '3');
            parseAddress(line);
          }
        }
      } catch (err) {
        expect.fail(`seed ${seed} case ${i}: ${(err as Error).message}`);
      }
      // The master's two recoveries: a new command resets the framer; otherwise a line end ends the junk.
      if (g.next() < 0.5) framer.reset();
      else framer.feed(ascii('\r\n'));
      const values = [value(), value()];
      const body = `3${values.map((v) => formatValue(v, 2)).join('')}`;
      const lines = framer.feed(ascii(`${crc ? withSdi12Crc(body) : body}\r\n`));
      const p = lines.length === 1 && lines[0] !== undefined ? parseData(lines[0], '3', crc) : undefined;
      if (!p?.ok || p.value.join() !== values.join()) {
        expect.fail(
          `seed ${seed} case ${i}: good response lost after ${Buffer.from(noise).toString('hex')}: ${JSON.stringify(p)}`,
        );
      }
      goodDecoded++;
    }
    expect(goodDecoded).toBe(FUZZ_CASES);
  });

  it('a mutated aMC! data line never passes the CRC with wrong values (sampled)', () => {
    const g = new Gen(0x5eed04);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const body = `3${formatValue((g.next() - 0.5) * 1000, 2)}${formatValue(g.next() * 100, 1)}`;
      const good = withSdi12Crc(body);
      const m = String.fromCharCode(...g.mutate(ascii(good), [ascii(good)], TEXTISH));
      if (m === good) continue;
      const p = parseData(m, '3', true);
      if (p.ok) accepted++;
    }
    // CRC-16 leaves a 2^-16 chance per corrupted line (plus mutations that only touch digits in
    // ways that keep the CRC): far below one in a thousand.
    expect(accepted).toBeLessThan(20);
  });
});
