/**
 * JMA three-tank soil water index (docs/domain.md, "Soil water index"; Okada et al. 2001): one parameter set for all
 * of Japan, storages in mm, rain in mm/h, rates per hour. SWI = S1 + S2 + S3.
 *
 * Integrated with explicit Euler steps of at most 10 minutes (JMA's own step); the largest outflow
 * coefficient sum is 0.37 /h, so a 1/6-h step is well inside the stable range. Rain of a reading is
 * spread evenly over the interval it covers.
 */
const L1 = 15;
const L2 = 60;
const L3 = 15;
const L4 = 15;
const A1 = 0.1;
const A2 = 0.15;
const A3 = 0.05;
const A4 = 0.01;
const B1 = 0.12;
const B2 = 0.05;
const B3 = 0.01;
const MAX_STEP_H = 1 / 6;
/** Steps are capped at a month's worth; longer gaps take longer (still stable below ~5 h) steps. */
const MAX_STEPS = 6 * 24 * 31;

/** Storages [S1, S2, S3] in mm; mutated in place. */
export type Tanks = [number, number, number];

export function newTanks(): Tanks {
  return [0, 0, 0];
}

export function swiOf(s: Tanks): number {
  return s[0] + s[1] + s[2];
}

/** Advances the tanks over `hours` during which `rainMm` fell evenly. */
export function stepTanks(s: Tanks, hours: number, rainMm: number): void {
  if (!(hours > 0)) {
    // Rain with no elapsed time (first reading of a gauge): it enters the top tank.
    s[0] += rainMm;
    return;
  }
  const steps = Math.min(Math.ceil(hours / MAX_STEP_H), MAX_STEPS);
  const h = hours / steps;
  const r = rainMm / hours;
  // Read by index: destructuring an array goes through its iterator.
  let s1 = s[0];
  let s2 = s[1];
  let s3 = s[2];
  for (let i = 0; i < steps; i++) {
    const q1 = A1 * Math.max(s1 - L1, 0) + A2 * Math.max(s1 - L2, 0);
    const q2 = A3 * Math.max(s2 - L3, 0);
    const q3 = A4 * Math.max(s3 - L4, 0);
    const d1 = r - q1 - B1 * s1;
    const d2 = B1 * s1 - q2 - B2 * s2;
    const d3 = B2 * s2 - q3 - B3 * s3;
    s1 = Math.max(s1 + h * d1, 0);
    s2 = Math.max(s2 + h * d2, 0);
    s3 = Math.max(s3 + h * d3, 0);
  }
  s[0] = s1;
  s[1] = s2;
  s[2] = s3;
}
