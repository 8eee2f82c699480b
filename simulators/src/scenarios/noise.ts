/**
 * Stateless seeded noise: a value for any (seed, channel, time) without generating the ones before
 * it, so that `valuesAt(ts)` of a scenario is a pure function of time (the live demo and virtual
 * devices sample at arbitrary instants) and a year-long stream needs no memory. The mixing is the
 * mulberry32 finaliser of rng.ts applied to a hash of the three inputs; no Math.random.
 */
function mix(x: number): number {
  let t = x >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

function hash(seed: number, channel: number, ts: number, salt: number): number {
  const lo = ts % 4294967296;
  const hi = Math.floor(ts / 4294967296);
  let h = mix((seed ^ 0x9e3779b9) + Math.imul(channel, 0x85ebca6b));
  h = mix(h ^ lo);
  h = mix(h ^ Math.imul(hi + 1, 0xc2b2ae35));
  return mix(h + salt);
}

/** Uniform in [0, 1). */
export function uniformAt(seed: number, channel: number, ts: number): number {
  return hash(seed, channel, ts, 0x27d4eb2f) / 4294967296;
}

/** Standard normal (Box-Muller). */
export function normalAt(seed: number, channel: number, ts: number): number {
  const u = Math.max(hash(seed, channel, ts, 0x165667b1) / 4294967296, Number.EPSILON);
  const v = hash(seed, channel, ts, 0x61c88647) / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
