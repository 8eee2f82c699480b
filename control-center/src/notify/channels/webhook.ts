import type { Clock } from '../clock.ts';
import type { Channel, ChannelMessage, Recipient, SendResult } from '../types.ts';
import { HEADER_DELIVERY, HEADER_SIGNATURE, HEADER_TIMESTAMP, signWebhook } from '../webhook-signature.ts';

/**
 * The webhook channel: one signed JSON POST per delivery to the configured URL. The recipient's
 * address goes in the body as `to` (a phone number for an SMS gateway, a chat id for a messenger
 * bridge, empty when the gateway itself knows who gets it). A 2xx answer is success; 408, 425, 429 and
 * 5xx are retried (429/503 honour Retry-After); any other 4xx is a permanent refusal.
 */
export interface WebhookOptions {
  id: string;
  url: string;
  secret: string;
  timeoutMs?: number;
  clock: Pick<Clock, 'now'>;
}

export interface WebhookBody {
  delivery: string;
  alert: string;
  level: number;
  round: string;
  to: string;
  subject: string;
  text: string;
  data: Record<string, unknown>;
}

const RETRYABLE_4XX = new Set([408, 425, 429]);

export function webhookChannel(opts: WebhookOptions): Channel {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const url = new URL(opts.url);
  return {
    id: opts.id,
    kind: 'webhook',
    // The URL may carry a token in its path or query (many gateways work that way).
    secrets: () => [opts.secret, opts.url, url.host, `${url.pathname}${url.search}`].filter((s) => s !== '/'),
    async send(message: ChannelMessage, recipient: Recipient): Promise<SendResult> {
      const payload: WebhookBody = {
        delivery: message.deliveryId,
        alert: message.alertId,
        level: message.level,
        round: message.round,
        to: recipient.address,
        subject: message.subject,
        text: message.text,
        data: message.data ?? {},
      };
      const body = JSON.stringify(payload);
      const timestamp = opts.clock.now();
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'slopeguard-notify',
            [HEADER_TIMESTAMP]: String(timestamp),
            [HEADER_SIGNATURE]: signWebhook(body, opts.secret, timestamp),
            [HEADER_DELIVERY]: message.deliveryId,
          },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        return { ok: false, permanent: false, error: networkError(err, timeoutMs) };
      }
      await drain(res);
      if (res.ok) return { ok: true, info: `HTTP ${res.status}` };
      const retryable = res.status >= 500 || RETRYABLE_4XX.has(res.status);
      return {
        ok: false,
        permanent: !retryable,
        error: `HTTP ${res.status}`,
        retryAfterMs: retryAfter(res.headers.get('retry-after'), opts.clock.now()),
      };
    },
  };
}

/**
 * The answer's body is not needed; reading it lets the connection be reused. At most 64 KiB: a
 * receiver that answers with a flood is cut off (the status is what counts).
 */
async function drain(res: Response): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      bytes += value.byteLength;
      if (bytes > 65_536) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // A body cut short or timed out: the status already decided the outcome.
  }
}

/** The cause's code only (ECONNREFUSED, ...): fetch's messages quote the address. */
function networkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code ?? e?.name ?? 'error';
  return `request failed (${code})`;
}

/** Retry-After in seconds or as an HTTP date [RFC 9110 10.2.3]. */
function retryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
