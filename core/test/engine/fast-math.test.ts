import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hypot2, medianAbsDev, medianInPlace, medianSorted } from '../../src/engine/stats.ts';

/**
 * The hot path's numeric shortcuts must give the very bits the plain forms give: the gateway and
 * the control center run the same engine and must agree on every level change and saved state.
 */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const small = fc.double({ min: -10, max: 10, noNaN: true });

describe('numeric shortcuts of the engine', () => {
  it('hypot2 is Math.hypot to the last bit', () => {
    fc.assert(
      fc.property(fc.oneof(finite, small), fc.oneof(finite, small), (a, b) => {
        expect(Object.is(hypot2(a, b), Math.hypot(a, b))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    // Tilt deltas as they come: a few hundredths of a degree, often equal in size or zero.
    for (const [a, b] of [
      [0, 0],
      [-0, 0],
      [0.01, -0.01],
      [1e-300, 1e-300],
      [3, 4],
      [5e-324, 0],
    ] as [number, number][])
      expect(Object.is(hypot2(a, b), Math.hypot(a, b))).toBe(true);
  });

  it('medianSorted and medianAbsDev give what sorting the deviations gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(small, fc.constantFrom(0, 1, -1, 0.1)), { minLength: 1, maxLength: 40 }),
        (xs) => {
          const plain = [...xs];
          const m = medianInPlace(plain, plain.length);
          const typed = Float64Array.from(xs);
          expect(Object.is(medianSorted(typed, typed.length), m)).toBe(true);
          const dev = [...typed].map((x) => Math.abs(x - m));
          expect(Object.is(medianAbsDev(typed, typed.length, m), medianInPlace(dev, dev.length))).toBe(true);
        },
      ),
      { numRuns: 20_000 },
    );
  });
});
