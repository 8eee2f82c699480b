/** Round away binary floating-point dust (0.2 * 3 = 0.6000000000000001) without losing sensor resolution. */
export function round9(v: number): number {
  return Math.round(v * 1e9) / 1e9;
}
