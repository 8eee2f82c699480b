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
  };
}

/** Restarts the filter (after a data gap, when the old trend says nothing about the new values). */
export function resetClean(c: CleanState): void {
  c.wn = 0;
  c.wi = 0;
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
  // Median slope of consecutive accepted values (chronological order from the ring). The ring is
  // walked with a wrapping index rather than a remainder per step (the filter runs per reading).
  const start = (c.wi - n + cap) % cap;
  let k = 0;
  let a = start;
  for (let j = 1; j < n; j++) {
    const b = a + 1 === cap ? 0 : a + 1;
    const dt = (wt[b] as number) - (wt[a] as number);
    if (dt > 0) scratchA[k++] = ((wv[b] as number) - (wv[a] as number)) / dt;
    a = b;
  }
  const slope = k > 0 ? medianSorted(scratchA, k) : 0;
  let s = start;
  for (let j = 0; j < n; j++) {
    scratchA[j] = (wv[s] as number) + slope * (at - (wt[s] as number));
    s = s + 1 === cap ? 0 : s + 1;
  }
  const level = medianSorted(scratchA, n);
  pred.level = level;
  pred.sigma = 1.4826 * medianAbsDev(scratchA, n, level);
}

function accept(c: CleanState, ts: number, v: number): void {
  const cap = c.wt.length;
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
