import { KIND_FIELDS, type Reading } from '@slopeguard/core';
import type { Driver, DriverHealth, ReadingSink } from '@slopeguard/firmware-bridge/driver.ts';
import { type Clock, realDelay } from '../clock.ts';
import type { SyntheticDriver as SyntheticConfig } from '../config/schema.ts';

type SensorConfig = SyntheticConfig['sensors'][number];
interface Slot {
  sensor: SensorConfig;
  intervalMs: number;
  last: number;
}

const HOUR = 3_600_000;
/** Shortest sleep: at high time scales each wake-up emits every grid point that fell due meanwhile. */
const MIN_WAKE_MS = 20;

/**
 * A driver that makes readings from formulas on the gateway clock (see SyntheticDriver in the config
 * schema). Timestamps lie on each sensor's grid (multiples of intervalMs), so that after a restart the
 * same timeline continues and a test can tell exactly which readings were due.
 */
export function createSyntheticDriver(config: SyntheticConfig, clock: Clock): Driver {
  const startTs = clock.now();
  const slots: Slot[] = config.sensors.map((s) => {
    const intervalMs = s.intervalMs ?? 1000;
    return { sensor: s, intervalMs, last: Math.floor(startTs / intervalMs) * intervalMs };
  });
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let readings = 0;
  let sink: ReadingSink = () => {};

  function valuesAt(s: SensorConfig, ts: number): Reading['values'] {
    const values: Reading['values'] = {};
    const hours = (ts - startTs) / HOUR;
    for (const f of KIND_FIELDS[s.kind]) values[f] = 0;
    for (const [f, p] of Object.entries(s.values ?? {})) {
      const period = (p.periodS ?? 3600) * 1000;
      values[f] =
        (p.base ?? 0) +
        (p.slopePerHour ?? 0) * hours +
        (p.amplitude ?? 0) * Math.sin((2 * Math.PI * ts) / period);
    }
    if (s.supplyV !== undefined) values.supply_v = s.supplyV;
    return values;
  }

  function wake(): void {
    const now = clock.now();
    for (const slot of slots) {
      while (slot.last + slot.intervalMs <= now) {
        slot.last += slot.intervalMs;
        readings++;
        sink({
          sensor: slot.sensor.id,
          kind: slot.sensor.kind,
          ts: slot.last,
          values: valuesAt(slot.sensor, slot.last),
        });
      }
    }
    schedule();
  }

  /** Sleeps until the next grid point is due (when a real sensor would answer), at least MIN_WAKE_MS. */
  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!running) return;
    const due = Math.min(...slots.map((s) => s.last + s.intervalMs));
    timer = setTimeout(wake, Math.max(MIN_WAKE_MS, realDelay(clock, due - clock.now()) + 1));
  }

  return {
    id: config.id,
    async start(s) {
      sink = s;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    setIntervalMs(ms) {
      for (const slot of slots) slot.intervalMs = ms;
      schedule();
    },
    health(): DriverHealth {
      const supply = config.sensors.find((s) => s.supplyV !== undefined)?.supplyV;
      return { state: 'ok', errors: {}, readings, ...(supply !== undefined ? { supplyV: supply } : {}) };
    },
  };
}
