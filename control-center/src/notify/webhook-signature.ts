import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The webhook signature, for Slopeguard (the sender) and for receivers (SMS and messenger gateways):
 *
 *   X-Slopeguard-Timestamp: epoch milliseconds of this attempt
 *   X-Slopeguard-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
 *   X-Slopeguard-Delivery:  the delivery id, the same on every attempt (the idempotency key)
 *
 * Signing the timestamp with the body lets a receiver refuse a replayed request (too old) without
 * keeping every id forever; the delivery id lets it refuse a retry of one it has already acted on.
 * The scheme follows the usual webhook practice (Stripe, Slack, GitHub: an HMAC over a timestamp and
 * the raw body, compared in constant time).
 */
export const HEADER_TIMESTAMP = 'x-slopeguard-timestamp';
export const HEADER_SIGNATURE = 'x-slopeguard-signature';
export const HEADER_DELIVERY = 'x-slopeguard-delivery';

export function signWebhook(body: string, secret: string, timestamp: number): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type VerifyResult =
  | { ok: true; deliveryId: string; timestamp: number }
  | { ok: false; reason: 'missing-header' | 'bad-timestamp' | 'stale' | 'bad-signature' };

/**
 * Checks a received webhook: the signature over timestamp and raw body, and a timestamp within
 * `toleranceMs` of the receiver's clock (either side). `secret` may list several keys while one is
 * being replaced. Header names are matched without regard to case; `body` must be the raw bytes
 * received (re-serialised JSON would not match).
 */
export function verifyWebhook(
  headers: Record<string, string | string[] | undefined>,
  body: string | Uint8Array,
  secret: string | readonly string[],
  now: number,
  toleranceMs = 300_000,
): VerifyResult {
  const h = (name: string): string | undefined => {
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
    }
    return undefined;
  };
  const ts = h(HEADER_TIMESTAMP);
  const sig = h(HEADER_SIGNATURE);
  const delivery = h(HEADER_DELIVERY);
  if (!ts || !sig || !delivery) return { ok: false, reason: 'missing-header' };
  if (!/^\d{1,16}$/.test(ts)) return { ok: false, reason: 'bad-timestamp' };
  const timestamp = Number(ts);
  if (Math.abs(now - timestamp) > toleranceMs) return { ok: false, reason: 'stale' };
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const given = Buffer.from(sig);
  for (const key of typeof secret === 'string' ? [secret] : secret) {
    const expected = Buffer.from(signWebhook(text, key, timestamp));
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      return { ok: true, deliveryId: delivery, timestamp };
    }
  }
  return { ok: false, reason: 'bad-signature' };
}
