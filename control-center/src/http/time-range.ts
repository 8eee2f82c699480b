import { ApiError } from './errors.ts';

/** The longest span one range or export request may cover (a bound on the work one request makes). */
export const MAX_SPAN_MS = 400 * 86_400_000;
/** The span served when `from` is omitted. */
export const DEFAULT_SPAN_MS = 86_400_000;

// ISO 8601 as RFC 3339 writes it: a date, or a date and time with a zone (Z or ±hh:mm). A time
// without a zone is refused: it would be read in the server's zone, which the caller cannot see.
const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const EPOCH_MS = /^\d{1,15}$/;

/** Epoch ms of an ISO 8601 timestamp or of a decimal epoch-ms string; SG_ERR_BAD_TIME otherwise. */
export function parseTime(value: string, name: string): number {
  const v = value.trim();
  const ms = EPOCH_MS.test(v) ? Number(v) : ISO.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new ApiError(
      'SG_ERR_BAD_TIME',
      `${name} must be ISO 8601 with a zone (2026-11-29T09:00:00Z) or epoch ms, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  return ms;
}

/**
 * The [from, to] of a request, both inclusive epoch ms: `to` defaults to now and `from` to a day
 * before `to`. from > to and a span over MAX_SPAN_MS are refused with their own codes.
 */
export function timeRange(q: { from?: string; to?: string }, now: number): { from: number; to: number } {
  const to = q.to === undefined ? now : parseTime(q.to, 'to');
  const from = q.from === undefined ? to - DEFAULT_SPAN_MS : parseTime(q.from, 'from');
  if (from > to) throw new ApiError('SG_ERR_RANGE_ORDER', `from (${from}) is after to (${to})`);
  if (to - from > MAX_SPAN_MS)
    throw new ApiError(
      'SG_ERR_RANGE_TOO_LONG',
      `the range spans ${Math.ceil((to - from) / 86_400_000)} days; at most 400 are served`,
    );
  return { from, to };
}
