/**
 * Capped exponential backoff: attempt n (1-based) waits base * 2^(n-1), at most `capMs`, shortened by
 * up to `jitter` (a fraction) at random so that many deliveries failing together (a gateway down) do
 * not all retry in the same millisecond when it comes back.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; after the last failure the delivery is `failed`. */
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  /** 0 = no jitter; 0.2 = up to 20 % shorter. */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseMs: 2_000, capMs: 300_000, jitter: 0.2 };

export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.round(exp * (1 - policy.jitter * random()));
}
