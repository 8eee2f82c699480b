/**
 * Small numeric helpers for the hot path. They work on the first `n` entries of a caller-owned
 * scratch array (sorted in place) so that nothing is allocated per reading.
 */

/** Median of the first n entries of `a`, which it sorts in place (insertion sort: n is small). */
export function medianInPlace(a: number[], n: number): number {
  for (let i = 1; i < n; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= 0 && (a[j] as number) > v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
  const mid = n >> 1;
  return n % 2 === 1 ? (a[mid] as number) : ((a[mid - 1] as number) + (a[mid] as number)) / 2;
}

/** medianInPlace for a typed scratch array (a separate function keeps each call site monomorphic). */
export function medianSorted(a: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= 0 && (a[j] as number) > v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
  const mid = n >> 1;
  return n % 2 === 1 ? (a[mid] as number) : ((a[mid - 1] as number) + (a[mid] as number)) / 2;
}

/**
 * The median of |a[j] - m| over a[0..n) sorted ascending, m their median, without sorting again:
 * the deviations fall towards the middle and rise after it (x - m is monotone in x, and a - b is
 * exactly -(b - a) in floating point), so they are two sorted runs, merged here only as far as the
 * middle. The same value as sorting the deviations.
 */
export function medianAbsDev(a: Float64Array, n: number, m: number): number {
  // Left run: a[lo], a[lo-1], ... (deviations m - a ascending); right run: a[hi], a[hi+1], ...
  let lo = (n >> 1) - 1;
  let hi = n >> 1;
  const want = n >> 1; // index (0-based) of the upper middle deviation
  let prev = 0;
  let cur = 0;
  for (let k = 0; k <= want; k++) {
    prev = cur;
    const dl = lo >= 0 ? Math.abs((a[lo] as number) - m) : Number.POSITIVE_INFINITY;
    const dr = hi < n ? Math.abs((a[hi] as number) - m) : Number.POSITIVE_INFINITY;
    if (dl <= dr) {
      cur = dl;
      lo--;
    } else {
      cur = dr;
      hi++;
    }
  }
  return n % 2 === 1 ? cur : (prev + cur) / 2;
}

export interface LineFit {
  /** Value of the line at x = 0. */
  intercept: number;
  slope: number;
  /** Coefficient of determination; 0 when y has no variance. */
  r2: number;
}

/** Ordinary least squares of y on x over the first n points; null when x has no spread. */
export function fitLine(x: readonly number[], y: readonly number[], n: number): LineFit | null {
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i] as number;
    sy += y[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 0) return null;
  const slope = sxy / sxx;
  const r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 0;
  return { intercept: my - slope * mx, slope, r2 };
}

/**
 * Math.hypot(a, b), bit for bit, for finite a and b, without the call into the runtime that
 * Math.hypot costs (it is not inlined). V8 scales by the larger magnitude and sums the squares with
 * Kahan compensation; with two terms the compensation after the first is exactly 0, so the sum is
 * (a/m)^2 + (b/m)^2. The engine state and the gateway must agree to the last bit: test/engine/stats
 * checks this against Math.hypot.
 */
export function hypot2(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  const m = x >= y ? x : y;
  if (m === 0) return 0;
  const p = x / m;
  const q = y / m;
  return Math.sqrt(p * p + q * q) * m;
}

/** Rounds to 4 significant digits for reasons shown to people; keeps exact zeros. */
export function sig4(v: number): number {
  return v === 0 || !Number.isFinite(v) ? v : Number(v.toPrecision(4));
}
