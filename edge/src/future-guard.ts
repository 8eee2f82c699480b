import { isAhead, type Reading } from '@slopeguard/core';
import type { Logger } from 'pino';

/**
 * Refuses readings stamped further ahead of the gateway's clock than `maxSkewMs`. One reading from
 * 2099 would otherwise move the rule engine's clock (here and at the control center) to 2099 and
 * silence the site; a node without a battery-backed clock or NTP after a power cut sends exactly that.
 * Refusals are counted per driver and sensor, and logged once per burst: the first refusal of a
 * sensor is logged, the rest are counted until an acceptable reading from it ends the burst.
 */
export class FutureGuard {
  readonly #log: Logger;
  #maxSkewMs: number;
  /** driver -> sensor -> readings refused since start. */
  readonly #counts: Record<string, Record<string, number>> = {};
  /** `driver\0sensor` -> refusals in the current burst. */
  readonly #bursts = new Map<string, number>();
  #total = 0;

  constructor(maxSkewMs: number, log: Logger) {
    this.#maxSkewMs = maxSkewMs;
    this.#log = log;
  }

  set maxSkewMs(ms: number) {
    this.#maxSkewMs = ms;
  }

  /** True when the reading may pass; false (counted, maybe logged) when it is too far ahead. */
  admit(driver: string, reading: Reading, now: number): boolean {
    const key = `${driver}\0${reading.sensor}`;
    const aheadMs = reading.ts - now;
    if (!isAhead(reading.ts, now, this.#maxSkewMs)) {
      const n = this.#bursts.get(key);
      if (n !== undefined) {
        this.#bursts.delete(key);
        this.#log.info(
          { driver, sensor: reading.sensor, refused: n },
          'readings from the future: burst ended',
        );
      }
      return true;
    }
    this.#total++;
    const bySensor = this.#counts[driver] ?? {};
    this.#counts[driver] = bySensor;
    bySensor[reading.sensor] = (bySensor[reading.sensor] ?? 0) + 1;
    const n = this.#bursts.get(key);
    if (n === undefined)
      this.#log.warn(
        { driver, sensor: reading.sensor, ts: reading.ts, aheadMs, maxSkewMs: this.#maxSkewMs },
        'reading from the future refused (further ones from this sensor are counted until one is on time)',
      );
    this.#bursts.set(key, (n ?? 0) + 1);
    return false;
  }

  /** For the status: the total and the count per driver and sensor. */
  counts(): { total: number; byDriver: Record<string, Record<string, number>> } {
    return { total: this.#total, byDriver: structuredClone(this.#counts) };
  }
}
