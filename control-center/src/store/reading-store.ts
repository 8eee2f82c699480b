import type { SensorView } from '../live-view.ts';

/** min/max/mean of one field over one bucket (structurally the broker's FieldStats). */
export interface FieldStats {
  min: number;
  max: number;
  mean: number;
}

/** Readings with `start <= ts < start + stepMs`; empty buckets are omitted (the broker's Bucket). */
export interface RangeBucket {
  start: number;
  count: number;
  values: Record<string, FieldStats>;
}

/** One raw reading as stored (structurally the broker's StoredReading). */
export interface RawReading {
  site: string;
  gateway: string;
  sensor: string;
  kind: string;
  ts: number;
  values: Record<string, number>;
  q?: string;
}

/**
 * The part of the broker's Store (broker/src/store/types.ts) the control center uses: the latest
 * reading per sensor to seed its picture at start-up, and downsampled ranges for the charts and the
 * API, and raw readings for the open-data export. Structural, so the control center does not depend on the broker package; SQLite and both
 * InfluxDB stores satisfy it as they are.
 */
export interface ReadingStore {
  latest(filter?: { site?: string }): Promise<ReadonlyArray<SensorView & { site: string }>>;
  range(q: {
    site: string;
    sensor: string;
    /** Inclusive, epoch ms. */
    from: number;
    /** Inclusive, epoch ms. */
    to: number;
    stepMs?: number;
  }): Promise<RangeBucket[]>;
  /**
   * Raw readings of one sensor in [from, to], ascending, a page read each time one is asked for.
   * Every broker Store has it; optional here so that a partial store (a test's wrapper) need not.
   */
  readings?(q: {
    site: string;
    sensor: string;
    from: number;
    to: number;
    pageSize?: number;
  }): AsyncIterable<ReadonlyArray<RawReading>>;
}

/** A store call that did not answer in time: the caller answers 503 instead of holding the request. */
export class StoreTimeout extends Error {}

/** Resolves with `p`, or rejects with StoreTimeout after `ms` (the timer never outlives the call). */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeout(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
