/**
 * Capped exponential backoff for reopening a lost port: initial, 2x, 4x ... up to max. No jitter:
 * one gateway reopens one local port, there is no herd to spread.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const exp = Math.min(attempt, 30);
  return Math.min(maxMs, initialMs * 2 ** exp);
}
