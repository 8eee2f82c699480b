import type { Reading } from '@slopeguard/core';

/** A reading as the recorder stores it: the contract's Reading plus where it came from (the topic). */
export interface StoredReading extends Reading {
  site: string;
  gateway: string;
}

export interface FieldStats {
  min: number;
  max: number;
  mean: number;
}

/**
 * One downsampling bucket: readings with `start <= ts < start + stepMs`. Buckets are aligned to the
 * query's `from`; empty buckets are omitted. `count` is the number of readings in the bucket.
 */
export interface Bucket {
  start: number;
  count: number;
  values: Record<string, FieldStats>;
}

export interface RangeQuery {
  site: string;
  sensor: string;
  /** Inclusive, epoch ms. */
  from: number;
  /** Inclusive, epoch ms. */
  to: number;
  /** Target number of buckets (default 500 when neither points nor stepMs is given). */
  points?: number;
  /** Bucket width in ms; wins over `points`. */
  stepMs?: number;
}

/** A raw read: one sensor's readings over a time range, as stored (no downsampling). */
export interface ReadingsQuery {
  site: string;
  sensor: string;
  /** Inclusive, epoch ms. */
  from: number;
  /** Inclusive, epoch ms. */
  to: number;
  /** Readings per page (default DEFAULT_PAGE, at most MAX_PAGE). */
  pageSize?: number;
}

export const DEFAULT_PAGE = 1000;
export const MAX_PAGE = 10_000;

/** The page size a raw read uses: pageSize clamped to 1..MAX_PAGE, else DEFAULT_PAGE. */
export function readingsPage(q: ReadingsQuery): number {
  const n = q.pageSize !== undefined && q.pageSize >= 1 ? Math.floor(q.pageSize) : DEFAULT_PAGE;
  return Math.min(n, MAX_PAGE);
}

/**
 * The one storage contract (docs/storage.md), run by broker/test/store-contract.ts against every
 * implementation.
 */
export interface Store {
  /** Resolves only when durable. Idempotent: the same (site, sensor, ts) twice is stored once. */
  write(batch: readonly StoredReading[]): Promise<void>;
  /** Latest reading per (site, sensor). */
  latest(filter?: { site?: string }): Promise<StoredReading[]>;
  /** min/max/mean per field per bucket, buckets in ascending time. */
  range(q: RangeQuery): Promise<Bucket[]>;
  /**
   * Raw readings of one sensor in [from, to], ascending time, in pages of at most the query's page
   * size. A page is read when the consumer asks for it (keyset on ts, one short query per page), so
   * memory holds one page whatever the span, nothing stays open between pages, and a consumer that
   * stops early (a client gone) stops the reading. Readings written meanwhile may or may not appear.
   */
  readings(q: ReadingsQuery): AsyncIterable<StoredReading[]>;
  count(filter?: { site?: string }): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_POINTS = 500;

/** The bucket width a range query uses: stepMs, else the span split into `points` (>= 1 ms). */
export function bucketStep(q: RangeQuery): number {
  if (q.stepMs !== undefined && q.stepMs > 0) return Math.ceil(q.stepMs);
  const points = q.points !== undefined && q.points > 0 ? q.points : DEFAULT_POINTS;
  return Math.max(1, Math.ceil((q.to - q.from + 1) / points));
}
