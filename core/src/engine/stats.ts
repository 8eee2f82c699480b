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

/** Rounds to 4 significant digits for reasons shown to people; keeps exact zeros. */
export function sig4(v: number): number {
  return v === 0 || !Number.isFinite(v) ? v : Number(v.toPrecision(4));
}
