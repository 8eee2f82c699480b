import type { Logger } from 'pino';

/**
 * Logs the first event of a burst per key and then stays quiet for `windowMs`; the next event after
 * the window logs with the number it suppressed. Bad input is logged once per burst, not per message.
 * Keys come from peers (client ids, usernames), so an attacker cycling them would get one line per
 * key: at most `maxLinesPerWindow` lines are written per window across all keys, and the first line
 * after an overflowing window says how many were dropped (`droppedLogLines`).
 */
export function createBurstLog(
  log: Logger,
  windowMs = 10_000,
  now: () => number = Date.now,
  maxLinesPerWindow = 100,
) {
  const seen = new Map<string, { until: number; suppressed: number }>();
  let windowStart = Number.NEGATIVE_INFINITY;
  let lines = 0;
  let dropped = 0;
  return function report(key: string, fields: Record<string, unknown>, msg: string): void {
    const t = now();
    const entry = seen.get(key);
    if (entry && t < entry.until) {
      entry.suppressed++;
      return;
    }
    if (t - windowStart >= windowMs) {
      windowStart = t;
      lines = 0;
    }
    if (lines >= maxLinesPerWindow) {
      dropped++;
      return;
    }
    lines++;
    const suppressed = entry?.suppressed ?? 0;
    // Bound the map: an attacker cycling keys must not grow memory without limit.
    if (seen.size > 10_000) seen.clear();
    seen.set(key, { until: t + windowMs, suppressed: 0 });
    const extra: Record<string, unknown> = {};
    if (suppressed > 0) extra.suppressedSinceLast = suppressed;
    if (dropped > 0) extra.droppedLogLines = dropped;
    dropped = 0;
    log.warn({ ...fields, ...extra }, msg);
  };
}
