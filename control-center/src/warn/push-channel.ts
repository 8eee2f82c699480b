import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import webpush from 'web-push';
import type { Channel, ChannelMessage, Recipient, SendResult } from '../notify/types.ts';
import { encryptAes128gcm } from './push-crypto.ts';
import type { PushSubscriptions } from './push-store.ts';
import type { VapidKeys } from './vapid.ts';

/**
 * The web push channel, a plugin on the notify outbox. The recipient's address is a subscription id
 * (push-store.ts); the endpoint and keys are read at send time, so a resident who unsubscribed
 * after the fan-out gets nothing (the delivery fails as "unsubscribed", permanently).
 *
 * The payload is encrypted with aes128gcm for the subscription's keys (RFC 8291, RFC 8188) by
 * push-crypto.ts; web-push makes the VAPID JWT (RFC 8292). This channel does the HTTP request itself
 * (node:http(s) on kept-alive connections, cheaper per request than fetch; a timeout, no redirects)
 * and reads the push service's answer (RFC 8030):
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
  // Kept-alive connections to the few push services: a fan-out reuses them instead of a handshake
  // per subscriber (TLS included).
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
  };
  // RFC 8292 lets a sender reuse its JWT until `exp` (at most 24 h): one per push service origin,
  // valid 12 h and renewed after 6, instead of a signature (and web-push's key conversion) per message.
  const jwts = new Map<string, { header: string; renewAt: number }>();
  const authorization = (endpoint: string): string => {
    const audience = new URL(endpoint).origin;
    const now = Date.now();
    const cached = jwts.get(audience);
    if (cached && cached.renewAt > now) return cached.header;
    const exp = Math.floor(now / 1000) + 12 * 3600;
    const h = webpush.getVapidHeaders(
      audience,
      opts.subject,
      opts.vapid.publicKey,
      opts.vapid.privateKey,
      'aes128gcm',
      exp,
    );
    if (jwts.size >= 100) jwts.clear(); // origins are the few push services; bound it anyway
    jwts.set(audience, { header: String(h.Authorization), renewAt: now + 6 * 3600_000 });
    return String(h.Authorization);
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
      let body: Buffer;
      let headers: Record<string, string>;
      try {
        body = encryptAes128gcm(
          Buffer.from(payload),
          Buffer.from(sub.keys.p256dh, 'base64url'),
          Buffer.from(sub.keys.auth, 'base64url'),
        );
        headers = {
          'content-encoding': 'aes128gcm',
          'content-type': 'application/octet-stream',
          ttl: String(ttl),
          urgency: message.level >= 3 ? 'high' : 'normal',
          topic: topicFor(area),
          authorization: authorization(sub.endpoint),
        };
      } catch {
        // Say only what failed: an error here could quote the keys.
        return { ok: false, permanent: true, error: 'could not encrypt for this subscription' };
      }
      let res: { status: number; retryAfter: string | undefined };
      try {
        res = await post(sub.endpoint, headers, body, timeoutMs);
      } catch (err) {
        return { ok: false, permanent: false, error: networkError(err, timeoutMs) };
      }
      if (res.status >= 200 && res.status < 300) return { ok: true, info: `HTTP ${res.status}` };
      if (res.status === 404 || res.status === 410) {
        opts.store.unsubscribe(sub.id);
        return { ok: false, permanent: true, error: `HTTP ${res.status}: subscription gone, deleted` };
      }
      const retryable = res.status >= 500 || RETRYABLE_4XX.has(res.status);
      const after = res.retryAfter;
      return {
        ok: false,
        permanent: !retryable,
        error: `HTTP ${res.status}`,
        retryAfterMs: after && /^\d+$/.test(after) ? Number(after) * 1000 : undefined,
      };
    },
    async close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };

  /** One POST; resolves with the status once the answer's body has been read. */
  function post(
    endpoint: string,
    headers: Record<string, string>,
    body: Buffer,
    ms: number,
  ): Promise<{ status: number; retryAfter: string | undefined }> {
    const url = new URL(endpoint);
    const https = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: https ? agents.https : agents.http,
        headers: { ...headers, 'content-length': String(body.length) },
        signal: AbortSignal.timeout(ms),
      });
      req.on('response', (res) => {
        res.on('error', reject);
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(ra) ? ra[0] : ra });
        });
        res.resume();
      });
      req.on('error', reject);
      req.end(body);
    });
  }
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

/** The error's code only: messages may quote the URL, which is personal data here. */
function networkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.name === 'AbortError')
    return `no answer within ${timeoutMs} ms`;
  return `request failed (${e?.code ?? e?.cause?.code ?? e?.name ?? 'error'})`;
}
