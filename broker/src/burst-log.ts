import type { Logger } from 'pino';

/**
 * Logs the first event of a burst per key and then stays quiet for `windowMs`; the next event after
 * the window logs with the number it suppressed. Bad input is logged once per burst, not per message.
 */
export function createBurstLog(log: Logger, windowMs = 10_000, now: () => number = Date.now) {
  const seen = new Map<string, { until: number; suppressed: number }>();
  return function report(key: string, fields: Record<string, unknown>, msg: string): void {
    const t = now();
    const entry = seen.get(key);
    if (entry && t < entry.until) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    // Bound the map: an attacker cycling keys must not grow memory without limit.
    if (seen.size > 10_000) seen.clear();
    seen.set(key, { until: t + windowMs, suppressed: 0 });
    log.warn(suppressed > 0 ? { ...fields, suppressedSinceLast: suppressed } : fields, msg);
  };
}
