import { medianAbsDev, medianSorted } from './stats.ts';

/**
 * Outlier cleaning of one scalar movement series (displacement mm, or tilt change magnitude deg),
 * before any rate is taken. A causal Hampel filter with a trend: each new value is compared with the
 * robust extrapolation of the previous `window` accepted values (median level carried forward at the
 * median slope); it is an outlier when further away than `sigmas` robust standard deviations (1.4826
 * MAD of the residuals), never less than `floor`.
 *
 * An outlier is held as pending and judged by what follows:
 * - the series comes back to the prediction: the pending values were a spike, dropped and counted;
 * - `confirm` readings stay at a shifted level that follows the old slope (their spread is within
 *   3 sigma or a quarter of the jump): a step (a knocked or re-mounted sensor). The offset is subtracted from this reading on, so rates never see it, and
 *   the sensor is quarantined (the engine marks it "stepped");
 * - anything else (the series bends away, as a slope accelerating to failure does): the pending
 *   values are genuine and are accepted, and the filter restarts from them.
 *
 * A jump that comes with rain at level 1 or higher, or with movement on another sensor of the site
 * (`moving()`, asked once when an outlier starts a held run), is movement, not a sensor step: a
 * slope that moves 8 mm at once after a storm must not be subtracted as a knocked gauge.
 *
 * Sparse instruments (read every few hours to weeks) cannot wait for several readings: an outlier
 * that comes with rain or movement is accepted at once as movement, and any other is held as
 * unconfirmed (the sensor reported; the value waits to enter the rules) and judged by the very
 * next reading: back to the prediction, a spike; staying at the new level, a step.
 */
export interface CleanState {
  /** Accepted (corrected) values: ring of times and values. */
  wt: number[];
  wv: number[];
  wn: number;
  wi: number;
  pt: number[];
  pv: number[];
  /** Whether rain or movement elsewhere came with the start of the held run. */
  pm: boolean;
  /** Step corrections so far, subtracted from every raw value. */
  offset: number;
  /**
   * Not saved (derived): the slopes between consecutive accepted values, sorted ascending, kept up
   * to date as values enter and leave the window, so the median slope needs no sort per reading.
   * Null until the first prediction (and after a load), which builds it from the ring.
   */
  slopes: SortedSlopes | null;
}

/** A sorted multiset of at most `window - 1` slopes. */
export interface SortedSlopes {
  v: Float64Array;
  n: number;
}

export interface CleanParams {
  window: number;
  sigmas: number;
  floor: number;
  confirm: number;
}

export type CleanVerdict = 'accepted' | 'pending' | 'spike' | 'step' | 'regime' | 'movement';

export function newClean(window: number): CleanState {
  return {
    wt: new Array<number>(window).fill(0),
    wv: new Array<number>(window).fill(0),
    wn: 0,
    wi: 0,
    pt: [],
    pv: [],
    pm: false,
    offset: 0,
    slopes: null,
  };
}

/** Restarts the filter (after a data gap, when the old trend says nothing about the new values). */
export function resetClean(c: CleanState): void {
  c.wn = 0;
  c.wi = 0;
  if (c.slopes !== null) c.slopes.n = 0;
  c.pt.length = 0;
  c.pv.length = 0;
}

// Scratch for the prediction: typed (no boxed numbers, no holes) and sized for the largest window
// the configuration allows, grown if a saved state brings a larger one.
let scratchA = new Float64Array(64);
const pred = { level: 0, sigma: 0 };

/** Robust prediction at `at` from the window: median extrapolated level and 1.4826 MAD. */
function predict(c: CleanState, at: number): void {
  const n = c.wn;
  const cap = c.wt.length;
  if (scratchA.length < cap) scratchA = new Float64Array(cap);
  const wt = c.wt;
  const wv = c.wv;
  // Median slope of consecutive accepted values: kept sorted as values come and go (see accept).
  const start = (c.wi - n + cap) % cap;
  const sorted = c.slopes ?? buildSlopes(c);
  const k = sorted.n;
  const sv = sorted.v;
  const mid = k >> 1;
  const slope =
    k === 0 ? 0 : k % 2 === 1 ? (sv[mid] as number) : ((sv[mid - 1] as number) + (sv[mid] as number)) / 2;
  let s = start;
  for (let j = 0; j < n; j++) {
    scratchA[j] = (wv[s] as number) + slope * (at - (wt[s] as number));
    s = s + 1 === cap ? 0 : s + 1;
  }
  const level = medianSorted(scratchA, n);
  pred.level = level;
  pred.sigma = 1.4826 * medianAbsDev(scratchA, n, level);
}

/**
 * The slopes of the window from its ring, in chronological order, sorted: the same values the
 * incremental updates in `accept` produce (each slope is (v_b - v_a) / (t_b - t_a) of a consecutive
 * pair with t_b > t_a, computed by the same expression).
 */
function buildSlopes(c: CleanState): SortedSlopes {
  const cap = c.wt.length;
  const v = new Float64Array(Math.max(1, cap));
  let k = 0;
  let a = (c.wi - c.wn + cap) % cap;
  for (let j = 1; j < c.wn; j++) {
    const b = a + 1 === cap ? 0 : a + 1;
    const dt = (c.wt[b] as number) - (c.wt[a] as number);
    if (dt > 0) v[k++] = ((c.wv[b] as number) - (c.wv[a] as number)) / dt;
    a = b;
  }
  medianSorted(v, k);
  c.slopes = { v, n: k };
  return c.slopes;
}

function insertSlope(s: SortedSlopes, x: number): void {
  const v = s.v;
  let j = s.n - 1;
  while (j >= 0 && (v[j] as number) > x) {
    v[j + 1] = v[j] as number;
    j--;
  }
  v[j + 1] = x;
  s.n++;
}

/** Removes one slope equal to x; false when there is none (then the caller rebuilds). */
function removeSlope(s: SortedSlopes, x: number): boolean {
  const v = s.v;
  let j = 0;
  while (j < s.n && v[j] !== x) j++;
  if (j === s.n) return false;
  for (; j < s.n - 1; j++) v[j] = v[j + 1] as number;
  s.n--;
  return true;
}

function accept(c: CleanState, ts: number, v: number): void {
  const cap = c.wt.length;
  const sl = c.slopes;
  if (sl !== null) {
    const wt = c.wt;
    const wv = c.wv;
    // The pair that leaves the window (its oldest value is overwritten now), then the new pair.
    let ok = true;
    if (c.wn === cap) {
      const a = c.wi;
      const b = a + 1 === cap ? 0 : a + 1;
      const dt = (wt[b] as number) - (wt[a] as number);
      if (dt > 0) ok = removeSlope(sl, ((wv[b] as number) - (wv[a] as number)) / dt);
    }
    if (c.wn > 0 && ok) {
      const a = c.wi === 0 ? cap - 1 : c.wi - 1;
      const dt = ts - (wt[a] as number);
      if (dt > 0) insertSlope(sl, (v - (wv[a] as number)) / dt);
    }
    if (!ok) c.slopes = null;
  }
  c.wt[c.wi] = ts;
  c.wv[c.wi] = v;
  c.wi = (c.wi + 1) % cap;
  if (c.wn < cap) c.wn++;
}

/**
 * Feeds one raw value. Accepted values (with the step offset removed) are passed to `emit` in time
 * order; the verdict says what happened to this reading and the pending ones.
 */
export function cleanValue(
  c: CleanState,
  p: CleanParams,
  ts: number,
  raw: number,
  emit: (ts: number, v: number) => void,
  sparse: boolean,
  moving: () => boolean,
): CleanVerdict {
  const x = raw - c.offset;
  if (c.wn < 4) {
    accept(c, ts, x);
    emit(ts, x);
    return 'accepted';
  }
  predict(c, ts);
  const limit = Math.max(p.sigmas * pred.sigma, p.floor);
  const dev = x - pred.level;
  if (Math.abs(dev) <= limit) {
    const hadPending = c.pt.length > 0;
    if (hadPending) {
      // Only when there is something to clear: setting an array's length is a call into the runtime.
      c.pt.length = 0;
      c.pv.length = 0;
    }
    accept(c, ts, x);
    emit(ts, x);
    return hadPending ? 'spike' : 'accepted';
  }
  if (c.pt.length === 0) {
    c.pm = moving();
    if (c.pm && sparse) {
      resetClean(c);
      accept(c, ts, x);
      emit(ts, x);
      return 'movement';
    }
  }
  c.pt.push(ts);
  c.pv.push(x);
  if (c.pt.length < (sparse ? 2 : p.confirm)) return 'pending';

  // Judge the pending run against the prediction at each of its times.
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let sum = 0;
  const m = c.pt.length;
  for (let j = 0; j < m; j++) {
    predict(c, c.pt[j] as number);
    const d = (c.pv[j] as number) - pred.level;
    if (d < lo) lo = d;
    if (d > hi) hi = d;
    sum += d;
  }
  const sameSide = lo > 0 || hi < 0;
  // Flat: the run stays put relative to the jump itself (a slope starting to move drifts away from
  // the old prediction by more than a quarter of the jump within `confirm` readings).
  const flat = hi - lo <= Math.max(3 * pred.sigma, 0.25 * Math.abs(sum / m));
  const step = sameSide && flat;
  if (step && !c.pm) {
    const shift = sum / m;
    c.offset += shift;
    for (let j = 0; j < m; j++) {
      const v = (c.pv[j] as number) - shift;
      accept(c, c.pt[j] as number, v);
      emit(c.pt[j] as number, v);
    }
    c.pt.length = 0;
    c.pv.length = 0;
    return 'step';
  }
  // Genuine change of behaviour: restart the filter from the pending values.
  const t0 = c.pt.slice();
  const v0 = c.pv.slice();
  resetClean(c);
  for (let j = 0; j < m; j++) {
    accept(c, t0[j] as number, v0[j] as number);
    emit(t0[j] as number, v0[j] as number);
  }
  return step ? 'movement' : 'regime';
}
