import type { Reading } from '@slopeguard/core';
import type { Engine } from '@slopeguard/core/engine/index.ts';

/**
 * What `backtest --report` draws, gathered while the readings are replayed: hourly rain per gauge
 * with its soil water index, the hourly last value of each movement sensor (displacement in mm,
 * tilt as the magnitude of the change from its first reading in degrees), and the forecasts.
 * Memory is bounded by the hours in the file (a year: 8,760 points per sensor).
 */
export interface RainSeries {
  id: string;
  t: number[];
  mm: number[];
  swi: number[];
}
export interface MoveSeries {
  id: string;
  kind: 'tilt' | 'displacement';
  t: number[];
  v: number[];
}
export interface ForecastPoint {
  id: string;
  at: number;
  tf: number;
}

const HOUR = 3_600_000;
const MAX_FORECASTS = 5000;

export class ReportCollector {
  readonly rain = new Map<string, RainSeries & { hour: number; acc: number }>();
  readonly move = new Map<string, MoveSeries & { hour: number; x0: number; y0: number }>();
  readonly forecasts: ForecastPoint[] = [];

  reading(r: Reading, engine: Engine): void {
    const hour = Math.floor(r.ts / HOUR) * HOUR;
    if (r.kind === 'rain') {
      let s = this.rain.get(r.sensor);
      if (!s) {
        s = { id: r.sensor, t: [], mm: [], swi: [], hour, acc: 0 };
        this.rain.set(r.sensor, s);
      }
      if (hour !== s.hour) this.#closeRain(s, engine, hour);
      const mm = r.values.mm;
      if (typeof mm === 'number' && Number.isFinite(mm)) s.acc += mm;
      return;
    }
    if (r.kind !== 'tilt' && r.kind !== 'displacement') return;
    const x = r.values[r.kind === 'tilt' ? 'x' : 'mm'];
    const y = r.kind === 'tilt' ? r.values.y : 0;
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) return;
    let s = this.move.get(r.sensor);
    if (!s) {
      s = { id: r.sensor, kind: r.kind, t: [], v: [], hour: -1, x0: x, y0: y };
      this.move.set(r.sensor, s);
    }
    const v = r.kind === 'tilt' ? Math.hypot(x - s.x0, y - s.y0) : x;
    if (hour !== s.hour) {
      s.t.push(r.ts);
      s.v.push(v);
      s.hour = hour;
    } else {
      s.t[s.t.length - 1] = r.ts;
      s.v[s.v.length - 1] = v;
    }
  }

  forecast(id: string, at: number, tf: number): void {
    if (this.forecasts.length < MAX_FORECASTS) this.forecasts.push({ id, at, tf });
  }

  #closeRain(s: RainSeries & { hour: number; acc: number }, engine: Engine, next: number): void {
    s.t.push(s.hour);
    s.mm.push(s.acc);
    s.swi.push(engine.swi()[s.id] ?? 0);
    s.hour = next;
    s.acc = 0;
  }

  /** The series, the open hour of each gauge closed. */
  finish(engine: Engine): { rain: RainSeries[]; move: MoveSeries[]; forecasts: ForecastPoint[] } {
    for (const s of this.rain.values()) if (s.acc > 0 || s.t.length === 0) this.#closeRain(s, engine, s.hour);
    return {
      rain: [...this.rain.values()].map(({ id, t, mm, swi }) => ({ id, t, mm, swi })),
      move: [...this.move.values()].map(({ id, kind, t, v }) => ({ id, kind, t, v })),
      forecasts: this.forecasts,
    };
  }
}
