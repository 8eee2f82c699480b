/**
 * Rounds away binary floating-point dust (0.2 * 3 = 0.6000000000000001, 1000.234 - 1000 =
 * 0.23400000000002592) without losing sensor resolution: to 9 decimals for ordinary magnitudes;
 * above 1e6, where 9 decimals exceed a double's 15-16 significant digits, to 15 significant digits.
 */
export function round9(v: number): number {
  if (Math.abs(v) < 1e6) return Math.round(v * 1e9) / 1e9;
  return Number(v.toPrecision(15));
}
