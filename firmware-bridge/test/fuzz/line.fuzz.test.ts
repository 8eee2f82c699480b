import { describe, expect, it } from 'vitest';
import { encodeLine, LINE_MAX, parseLine, type Sentence } from '../../src/line/codec.ts';
import { LineFramer } from '../../src/serial/line-framer.ts';
import { ascii, FUZZ_CASES, Gen, TEXTISH } from './gen.ts';

/**
 * Acceptance item 4: the line-protocol stages (framer with '$' resync + sentence parser), 100,000
 * random and mutated lines, no exception escapes, and the good line sent after the noise is decoded
 * without any reset: the '$' resynchronises the framer by itself.
 */
describe('fuzz: line protocol decoding', () => {
  it(`${FUZZ_CASES} random and mutated lines: never throws; the next good line is always decoded`, () => {
    const seed = 0x5eed05;
    const g = new Gen(seed);
    const sentence = (seq: number): Sentence => ({
      type: 'R',
      node: 'n1',
      seq,
      sensor: 'ext-1',
      kind: 'displacement',
      values: { mm: Math.round(g.next() * 1e6) / 1000, temp_c: Math.round(g.next() * 400 - 100) / 10 },
    });
    const corpus = [
      encodeLine(sentence(1)),
      encodeLine({ type: 'H', node: 'n1', seq: 2, values: { supply_v: 3.71, uptime_s: 3600 } }),
      encodeLine({ type: 'R', node: 'n2', seq: 3, sensor: 't', kind: 'tilt', values: { x: -0.125, y: 1.5 } }),
      encodeLine({ type: 'C', node: '*', seq: 4, values: { interval_ms: 1000 } }),
    ].map(ascii);
    const framer = new LineFramer({ maxLength: LINE_MAX, start: '$' });
    let parsed = 0;
    for (let i = 0; i < FUZZ_CASES; i++) {
      const noise = g.fuzzFrame(corpus, 250, g.next() < 0.7 ? TEXTISH : undefined);
      try {
        for (const c of g.chunks(noise)) {
          for (const line of framer.feed(c)) {
            if (parseLine(line).ok) parsed++;
          }
        }
      } catch (err) {
        expect.fail(`seed ${seed} case ${i}: ${(err as Error).message}`);
      }
      const good = sentence(i % 65536);
      const lines = framer.feed(ascii(encodeLine(good)));
      const last = lines.at(-1);
      const p = last === undefined ? undefined : parseLine(last);
      if (!p?.ok || JSON.stringify(p.sentence) !== JSON.stringify(good)) {
        expect.fail(
          `seed ${seed} case ${i}: good line lost after ${JSON.stringify(String.fromCharCode(...noise))}: ${JSON.stringify(p)}`,
        );
      }
    }
    // Some mutations leave a line intact (e.g. junk appended after the CR LF): those parse, the rest must not.
    expect(parsed).toBeLessThan(FUZZ_CASES);
  });
});
