import type { Logger } from 'pino';
import type { DriverHealth, SensorHealth } from './driver.ts';

/**
 * Counts errors by reason, per driver and per sensor, and logs the first error of a run once:
 * a serial line produces garbage all the time and a log line per bad frame would drown the log.
 * A run ends with the next success, which is logged once with the number of errors it swallowed.
 */
export class HealthTracker {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly h: DriverHealth = { state: 'down', errors: {}, readings: 0, reopens: 0, sensors: {} };
  /** Open runs: key `${sensor|*}:${reason}` -> errors since the run began. */
  private readonly runs = new Map<string, number>();
  private portUp = false;

  constructor(log: Logger, now: () => number, sensorIds: readonly string[]) {
    this.log = log;
    this.now = now;
    for (const id of sensorIds) this.sensor(id);
  }

  private sensor(id: string): SensorHealth {
    const sensors = this.h.sensors ?? {};
    this.h.sensors = sensors;
    let s = sensors[id];
    if (!s) {
      s = { state: 'down', readings: 0, errors: {} };
      sensors[id] = s;
    }
    return s;
  }

  /** Something went wrong; `sensorId` undefined for port-level trouble. */
  error(reason: string, message: string, sensorId?: string): void {
    const ts = this.now();
    this.h.errors[reason] = (this.h.errors[reason] ?? 0) + 1;
    this.h.lastError = `${reason}: ${message}`;
    this.h.lastErrorTs = ts;
    if (sensorId !== undefined) {
      const s = this.sensor(sensorId);
      s.errors[reason] = (s.errors[reason] ?? 0) + 1;
      s.lastError = this.h.lastError;
      s.lastErrorTs = ts;
      if (s.state === 'ok') s.state = 'degraded';
    }
    const key = `${sensorId ?? '*'}:${reason}`;
    const n = this.runs.get(key);
    if (n === undefined) {
      this.log.warn(
        { reason, sensor: sensorId, err: message },
        'driver error (further errors of this run are counted, not logged)',
      );
      this.runs.set(key, 1);
    } else {
      this.runs.set(key, n + 1);
    }
    this.refresh();
  }

  /** A counter that is not an error of the device (retries, sequence gaps). */
  count(reason: string, sensorId?: string, n = 1): void {
    this.h.errors[reason] = (this.h.errors[reason] ?? 0) + n;
    if (sensorId !== undefined) {
      const s = this.sensor(sensorId);
      s.errors[reason] = (s.errors[reason] ?? 0) + n;
    }
  }

  /** A transaction or line from `sensorId` succeeded. */
  ok(sensorId: string, latencyMs?: number): void {
    const s = this.sensor(sensorId);
    s.state = 'ok';
    if (latencyMs !== undefined) {
      s.latencyMs = latencyMs;
      this.h.latencyMs = latencyMs;
    }
    this.endRuns(`${sensorId}:`);
    this.refresh();
  }

  reading(sensorId: string, ts: number): void {
    const s = this.sensor(sensorId);
    s.readings++;
    s.lastReadingTs = ts;
    this.h.readings++;
  }

  supply(volts: number, sensorId?: string): void {
    this.h.supplyV = volts;
    if (sensorId !== undefined) this.sensor(sensorId).supplyV = volts;
  }

  port(up: boolean): void {
    this.portUp = up;
    if (up) this.endRuns('*:');
    this.refresh();
  }

  reopened(): void {
    this.h.reopens = (this.h.reopens ?? 0) + 1;
  }

  private endRuns(prefix: string): void {
    for (const [key, n] of this.runs) {
      if (!key.startsWith(prefix)) continue;
      this.runs.delete(key);
      if (n > 0) this.log.info({ run: key, errors: n }, 'recovered');
    }
  }

  private refresh(): void {
    const sensors = Object.values(this.h.sensors ?? {});
    if (!this.portUp) {
      this.h.state = 'down';
      for (const s of sensors) s.state = 'down';
      return;
    }
    const bad =
      sensors.some((s) => s.state !== 'ok') || [...this.runs.keys()].some((k) => k.startsWith('*:'));
    this.h.state = bad ? 'degraded' : 'ok';
  }

  snapshot(): DriverHealth {
    return structuredClone(this.h);
  }
}
