import { createHash } from 'node:crypto';
import webpush from 'web-push';
import type { Channel, ChannelMessage, Recipient, SendResult } from '../notify/types.ts';
import type { PushSubscriptions } from './push-store.ts';
import type { VapidKeys } from './vapid.ts';

/**
 * The web push channel, a plugin on the notify outbox. The recipient's address is a subscription id
 * (push-store.ts); the endpoint and keys are read at send time, so a resident who unsubscribed
 * after the fan-out gets nothing (the delivery fails as "unsubscribed", permanently).
 *
 * web-push does the cryptography: the payload encrypted with aes128gcm for the subscription's keys
 * (RFC 8291, RFC 8188) and the VAPID JWT (RFC 8292). This channel does the HTTP request itself
 * (fetch, with a timeout and no redirects) and reads the push service's answer (RFC 8030):
 * - 201 (or any 2xx): accepted;
 * - 404 or 410: the subscription is gone; it is deleted here (residents' data is kept only while
 *   subscribed) and the delivery fails permanently;
 * - 413 payload too large, 400 and other 4xx: permanent; 429 and 5xx: retried by the outbox.
 *
 * Headers: TTL (how long the push service keeps it for an offline phone), Urgency high for 경계 and
 * 심각 (RFC 8030 5.3, so a phone in power saving still wakes), and a Topic per area (RFC 8030 5.4) so
 * that a phone offline during an episode receives only its latest message, not a stale "evacuate"
 * after the all-clear.
 */
export interface WebPushOptions {
  id: string;
  store: PushSubscriptions;
  vapid: VapidKeys;
  /** "mailto:..." or "https://...": how the push service reaches the operator (RFC 8292 2.1). */
  subject: string;
  ttlSeconds?: number;
  timeoutMs?: number;
}

/** What the service worker shows (the page's sw.js reads these fields). */
export interface PushPayload {
  title: string;
  body: string;
  url?: string;
  /** Replaces the area's previous notification on the phone. */
  tag: string;
  level: number;
  exercise: boolean;
}

const RETRYABLE_4XX = new Set([408, 425, 429]);
/** RFC 8291 4: a push message carries at most 4096 octets; leave room for the record overhead. */
const MAX_PAYLOAD_BYTES = 3_000;

export function webPushChannel(opts: WebPushOptions): Channel {
  const ttl = opts.ttlSeconds ?? 12 * 3600;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const vapidDetails = {
    subject: opts.subject,
    publicKey: opts.vapid.publicKey,
    privateKey: opts.vapid.privateKey,
  };
  return {
    id: opts.id,
    kind: 'webpush',
    secrets: () => [opts.vapid.privateKey],
    async send(message: ChannelMessage, recipient: Recipient): Promise<SendResult> {
      const sub = opts.store.get(recipient.address);
      if (!sub) return { ok: false, permanent: true, error: 'unsubscribed' };
      const payload = pushPayload(message);
      const area = typeof message.data?.area === 'string' ? message.data.area : message.alertId;
      let details: ReturnType<typeof webpush.generateRequestDetails>;
      try {
        details = webpush.generateRequestDetails(sub, payload, {
          vapidDetails,
          TTL: ttl,
          contentEncoding: 'aes128gcm',
          urgency: message.level >= 3 ? 'high' : 'normal',
          topic: topicFor(area),
        });
      } catch {
        // web-push's message may quote the keys: say only what failed.
        return { ok: false, permanent: true, error: 'could not encrypt for this subscription' };
      }
      let res: Response;
      try {
        res = await fetch(details.endpoint, {
          method: 'POST',
          headers: details.headers as Record<string, string>,
          body: details.body ? new Uint8Array(details.body) : undefined,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        return { ok: false, permanent: false, error: networkError(err, timeoutMs) };
      }
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, info: `HTTP ${res.status}` };
      if (res.status === 404 || res.status === 410) {
        opts.store.unsubscribe(sub.id);
        return { ok: false, permanent: true, error: `HTTP ${res.status}: subscription gone, deleted` };
      }
      const retryable = res.status >= 500 || RETRYABLE_4XX.has(res.status);
      const after = res.headers.get('retry-after');
      return {
        ok: false,
        permanent: !retryable,
        error: `HTTP ${res.status}`,
        retryAfterMs: after && /^\d+$/.test(after) ? Number(after) * 1000 : undefined,
      };
    },
  };
}

/** The message's `data.push` when the fan-out set it; otherwise its subject and text. */
export function pushPayload(message: ChannelMessage): string {
  const p = (message.data?.push ?? {}) as Partial<PushPayload>;
  const out: PushPayload = {
    title: typeof p.title === 'string' ? p.title : message.subject,
    body: typeof p.body === 'string' ? p.body : message.text,
    url: typeof p.url === 'string' ? p.url : undefined,
    tag: typeof p.tag === 'string' ? p.tag : `slopeguard-${message.alertId}`,
    level: message.level,
    exercise: p.exercise === true,
  };
  let json = JSON.stringify(out);
  while (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES && out.body.length > 0) {
    out.body = out.body.slice(0, Math.floor(out.body.length * 0.8));
    json = JSON.stringify(out);
  }
  return json;
}

/** RFC 8030 5.4: at most 32 characters of the URL-safe base64 alphabet. */
export function topicFor(area: string): string {
  return createHash('sha256').update(`slopeguard-area:${area}`).digest('base64url').slice(0, 32);
}

/** The cause's code only: fetch's messages quote the URL, which is personal data here. */
function networkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  return `request failed (${e?.cause?.code ?? e?.name ?? 'error'})`;
}
