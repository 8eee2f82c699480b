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

/**
 * The part of the broker's Store (broker/src/store/types.ts) the control center uses: the latest
 * reading per sensor to seed its picture at start-up, and downsampled ranges for the charts and the
 * API. Structural, so the control center does not depend on the broker package; SQLite and both
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
