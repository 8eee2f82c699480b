import { fitLine } from './stats.ts';

/**
 * Inverse-velocity time-of-failure forecast (Fukuzono 1985; Voight 1989): in accelerating creep 1/v
 * falls about linearly with time and reaches zero at failure. The velocities come smoothed from the
 * rate track (change over several bins, Carla et al. 2017); a straight line (more stable than
 * non-linear fits in a 55-case comparison) is fitted by least squares to the latest points.
 *
 * A forecast is kept while the sensor accelerates: at least `minPoints` consecutive velocities of the
 * same sign, the latest at least `minPerHour`, 1/v falling (negative slope) with R^2 >= 0.5, and the
 * line agreeing with the latest inverse velocity within 20 %, and the newest third of the points
 * falling at a similar rate (their own fitted slope within a factor of 2 of the whole fit's). A sudden
 * jump from one steady velocity to another makes a steep line with a high R^2 that says "failure
 * now" while the slope moves at a steady 1 mm/h; the last two checks reject it. Whether it is good enough to raise a level is the caller's criterion
 * (R^2 >= minR2, default 0.9).
 */
export interface ForecastFit {
  /** Forecast time of failure, epoch ms. */
  tf: number;
  r2: number;
  n: number;
  spanMs: number;
}

export interface ForecastState {
  t: number[];
  v: number[];
  fit: ForecastFit | null;
}

export interface ForecastParams {
  points: number;
  minPoints: number;
  minPerHour: number;
}

/** Lowest R^2 at which a fit is shown as a forecast at all. */
export const MIN_SHOWN_R2 = 0.5;
/** Largest relative misfit of the line at the latest point. */
export const MAX_LAST_MISFIT = 0.2;

const HOUR = 3_600_000;

export function newForecast(): ForecastState {
  return { t: [], v: [], fit: null };
}

/** Appends a velocity point (per hour) at time t, keeping the latest `points`. */
export function pushVelocity(f: ForecastState, points: number, t: number, v: number): void {
  const last = f.t[f.t.length - 1];
  if (last !== undefined && t <= last) return;
  f.t.push(t);
  f.v.push(v);
  if (f.t.length > points) {
    f.t.shift();
    f.v.shift();
  }
}

const xs: number[] = [];
const ys: number[] = [];

export function fitForecast(f: ForecastState, p: ForecastParams): void {
  f.fit = null;
  const n = f.t.length;
  if (n < p.minPoints) return;
  const tLast = f.t[n - 1] as number;
  const vLast = f.v[n - 1] as number;
  if (!(Math.abs(vLast) >= p.minPerHour)) return;
  const sign = Math.sign(vLast);
  // The run of same-sign velocities ending with the latest.
  let k = 0;
  for (let i = n - 1; i >= 0; i--) {
    const v = f.v[i] as number;
    if (Math.sign(v) !== sign || v === 0) break;
    xs[k] = ((f.t[i] as number) - tLast) / HOUR;
    ys[k] = 1 / Math.abs(v);
    k++;
  }
  if (k < p.minPoints) return;
  const line = fitLine(xs, ys, k);
  if (line === null || line.slope >= 0 || line.r2 < MIN_SHOWN_R2) return;
  const yLast = 1 / Math.abs(vLast);
  if (Math.abs(line.intercept - yLast) > MAX_LAST_MISFIT * yLast) return;
  // Points are newest first: the start of xs/ys is the newest third.
  const recent = fitLine(xs, ys, Math.max(3, Math.ceil(k / 3)));
  if (recent === null || recent.slope >= 0) return;
  const ratio = recent.slope / line.slope;
  if (ratio < 0.5 || ratio > 2) return;
  f.fit = {
    tf: tLast + (-line.intercept / line.slope) * HOUR,
    r2: line.r2,
    n: k,
    spanMs: tLast - (f.t[n - k] as number),
  };
}
