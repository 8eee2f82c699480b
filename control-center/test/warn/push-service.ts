import {
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  type ECDH,
  randomBytes,
  verify,
} from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A push service on loopback, as a browser vendor runs one, written here from the RFCs with
 * node:crypto only (not with web-push, the library under test):
 * - it checks the VAPID authorization (RFC 8292 3): `vapid t=<JWT>, k=<public key>`, the JWT signed
 *   with ES256 (RFC 7518 3.4: r || s, 64 octets) verified with k, k equal to the key the
 *   subscription was made for, `aud` the origin of the endpoint, `exp` in the future and no more
 *   than 24 hours ahead, `sub` a mailto: or https: URI; 401 when any check fails;
 * - it decrypts the aes128gcm body (RFC 8188 2, RFC 8291 3.4) with the user agent's private key
 *   and auth secret; 400 when it cannot.
 * Each subscription is a browser: `subscribe()` makes its P-256 key pair and 16-octet auth secret.
 */
export interface ReceivedPush {
  name: string;
  headers: IncomingHttpHeaders;
  payload: string;
  claims: { aud: string; exp: number; sub: string };
}

interface Browser {
  ecdh: ECDH;
  auth: Buffer;
}

export interface PushService {
  origin: string;
  received: ReceivedPush[];
  refused: { name: string; reason: string }[];
  subscribe(name: string): { endpoint: string; keys: { p256dh: string; auth: string } };
  /** The status for a push to `name` (default 201). */
  respond(name: string, status: number): void;
  close(): Promise<void>;
}

export async function startPushService(opts: {
  vapidPublicKey: string;
  now?: () => number;
}): Promise<PushService> {
  const browsers = new Map<string, Browser>();
  const statuses = new Map<string, number>();
  const received: ReceivedPush[] = [];
  const refused: { name: string; reason: string }[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = decodeURIComponent((req.url ?? '').replace(/^\/push\//, ''));
      const refuse = (status: number, reason: string) => {
        refused.push({ name, reason });
        res.writeHead(status).end(reason);
      };
      const browser = browsers.get(name);
      if (req.method !== 'POST' || !browser) return refuse(404, 'no such subscription');
      const v = verifyVapid(req.headers.authorization, opts.vapidPublicKey, origin, (opts.now ?? Date.now)());
      if (!v.ok) return refuse(401, v.reason);
      if (req.headers['content-encoding'] !== 'aes128gcm') return refuse(415, 'content-encoding');
      if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) return refuse(400, 'ttl');
      let payload: string;
      try {
        payload = decryptAes128gcm(Buffer.concat(chunks), browser).toString('utf8');
      } catch (err) {
        return refuse(400, `decrypt: ${(err as Error).message}`);
      }
      const status = statuses.get(name) ?? 201;
      if (status === 201) received.push({ name, headers: req.headers, payload, claims: v.claims });
      res.writeHead(status).end();
    });
  });
  // Many parallel senders in the benchmark: do not cap the keep-alive sockets.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    refused,
    subscribe(name) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      browsers.set(name, { ecdh, auth });
      return {
        endpoint: `${origin}/push/${encodeURIComponent(name)}`,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
      };
    },
    respond(name, status) {
      statuses.set(name, status);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

type VapidCheck =
  | { ok: true; claims: { aud: string; exp: number; sub: string } }
  | { ok: false; reason: string };

/** RFC 8292 3: Authorization: vapid t=<JWT>, k=<base64url uncompressed P-256 public key>. */
export function verifyVapid(
  header: string | undefined,
  expectedKey: string,
  origin: string,
  now: number,
): VapidCheck {
  const m = /^vapid t=([A-Za-z0-9_.-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) return { ok: false, reason: 'no vapid authorization' };
  const [, jwt = '', k = ''] = m;
  if (k !== expectedKey) return { ok: false, reason: 'unexpected key' };
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return { ok: false, reason: 'malformed jwt' };
  const head = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string; typ?: string };
  if (head.alg !== 'ES256') return { ok: false, reason: 'alg must be ES256' };
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const sig = Buffer.from(s, 'base64url');
  if (sig.length !== 64) return { ok: false, reason: 'signature must be 64 octets' };
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, sig))
    return { ok: false, reason: 'bad signature' };
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as {
    aud: string;
    exp: number;
    sub: string;
  };
  if (claims.aud !== origin) return { ok: false, reason: `aud ${claims.aud} is not ${origin}` };
  const nowS = Math.floor(now / 1000);
  if (!(claims.exp > nowS && claims.exp <= nowS + 24 * 3600))
    return { ok: false, reason: 'exp out of range' };
  if (!/^(mailto:|https:)/.test(claims.sub)) return { ok: false, reason: 'sub must be mailto: or https:' };
  return { ok: true, claims };
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 3.3-3.4 key derivation and RFC 8188 2 decryption of a single-record body. */
export function decryptAes128gcm(body: Buffer, browser: { ecdh: ECDH; auth: Buffer }): Buffer {
  if (body.length < 21 + 65 + 17) throw new Error('body too short');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] ?? 0;
  if (idlen !== 65) throw new Error(`keyid must be the 65-octet sender key, got ${idlen}`);
  const asPublic = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  if (record.length > rs) throw new Error('more than one record');
  const uaPublic = browser.ecdh.getPublicKey();
  const ecdhSecret = browser.ecdh.computeSecret(asPublic);
  const prkKey = hmac(browser.auth, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 followed by zero padding (RFC 8188 2).
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('missing last-record delimiter');
  return padded.subarray(0, end);
}
