import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookChannel } from '../../src/notify/channels/webhook.ts';
import type { ChannelMessage } from '../../src/notify/types.ts';
import { signWebhook, verifyWebhook } from '../../src/notify/webhook-signature.ts';
import { FakeClock, webhookReceiver } from './helpers.ts';

const SECRET = 'whsec-webhook-test-0123456789';
const message: ChannelMessage = {
  deliveryId: '5b0c7a9e-3f55-4a53-9d0e-7c1e2f3a4b5c',
  alertId: 'alert-7',
  level: 4,
  round: 'g1.r0',
  subject: '[Slopeguard] 4 심각 Serious · hill-a',
  text: '급경사지 경보 / Slope alert',
  data: { site: 'hill-a', level: 4 },
};

describe('webhook channel against a real HTTP receiver', () => {
  const clock = new FakeClock();
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;
  beforeAll(async () => {
    rx = await webhookReceiver({ secret: SECRET, now: () => clock.now(), toleranceMs: 60_000 });
  });
  afterAll(() => rx.close());

  it('POSTs JSON signed over timestamp.body with the delivery id as the idempotency key', async () => {
    const ch = webhookChannel({ id: 'sms', url: rx.url, secret: SECRET, clock });
    const result = await ch.send(message, { id: 'duty', address: '+82-10-5555-0100' });
    expect(result).toEqual({ ok: true, info: 'HTTP 200' });
    const hook = rx.requests.at(-1);
    expect(hook?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hook?.headers['x-slopeguard-delivery']).toBe(message.deliveryId);
    expect(hook?.headers['x-slopeguard-timestamp']).toBe(String(clock.now()));
    expect(hook?.headers['x-slopeguard-signature']).toBe(signWebhook(hook?.body ?? '', SECRET, clock.now()));
    expect(hook?.json).toEqual({
      delivery: message.deliveryId,
      alert: 'alert-7',
      level: 4,
      round: 'g1.r0',
      to: '+82-10-5555-0100',
      subject: message.subject,
      text: message.text,
      data: { site: 'hill-a', level: 4 },
    });
  });

  it('is refused by the receiver when signed with another key', async () => {
    const before = rx.refused.length;
    const ch = webhookChannel({ id: 'sms', url: rx.url, secret: 'not-the-secret', clock });
    const result = await ch.send(message, { id: 'duty', address: '' });
    // 401 is a refusal of the message itself: not retried.
    expect(result).toMatchObject({ ok: false, permanent: true, error: 'HTTP 401' });
    expect(rx.refused.slice(before)).toEqual([{ reason: 'bad-signature' }]);
  });

  it('lets the receiver refuse a replay: too old by timestamp, or already seen by delivery id', async () => {
    const ch = webhookChannel({ id: 'sms', url: rx.url, secret: SECRET, clock });
    const replay = { ...message, deliveryId: 'c0ffee00-0000-4000-8000-000000000001' };
    await ch.send(replay, { id: 'duty', address: '' });
    const original = rx.requests.at(-1);
    if (!original) throw new Error('nothing received');
    // An attacker resends the captured request byte for byte.
    const resend = () =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(rx.url);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: original.headers,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(original.body);
      });
    const accepted = rx.accepted.size;
    expect(await resend()).toBe(200);
    expect(rx.accepted.size).toBe(accepted);
    expect(rx.duplicates).toBe(1);
    clock.advance(60_001);
    const refused = rx.refused.length;
    expect(await resend()).toBe(401);
    expect(rx.refused.slice(refused)).toEqual([{ reason: 'stale' }]);
  });

  it('does not read more than 64 KiB of an answer, and times out a receiver that never answers', async () => {
    const { createServer } = await import('node:http');
    let flood = 0;
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/flood') {
        res.writeHead(200);
        const chunk = Buffer.alloc(16_384, 120);
        // 64 MiB offered, more than loopback socket buffers hold: the channel must stop reading.
        const push = () => {
          while (flood < 4_096) {
            flood++;
            if (!res.write(chunk)) {
              res.once('drain', push);
              return;
            }
          }
          res.end();
        };
        push();
      }
      // '/silent': never answers.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const ok = await webhookChannel({ id: 'a', url: `${base}/flood`, secret: SECRET, clock }).send(
        message,
        {
          id: 'x',
          address: '',
        },
      );
      expect(ok).toEqual({ ok: true, info: 'HTTP 200' });
      expect(flood).toBeLessThan(4_096);
      const silent = await webhookChannel({
        id: 'b',
        url: `${base}/silent`,
        secret: SECRET,
        clock,
        timeoutMs: 300,
      }).send(message, { id: 'x', address: '' });
      expect(silent).toEqual({ ok: false, permanent: false, error: 'no answer within 300 ms' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('classifies answers: 5xx and refused connections are retried, other 4xx are not', async () => {
    const answers = [500, 503, 408, 429, 400, 404, 410];
    const server = await webhookReceiver({
      secret: SECRET,
      now: () => clock.now(),
      respond: (n) => ({ status: answers[n - 1] ?? 200 }),
    });
    const ch = webhookChannel({ id: 'sms', url: server.url, secret: SECRET, clock });
    const results = [];
    for (const _ of answers) results.push(await ch.send(message, { id: 'x', address: '' }));
    await server.close();
    expect(results.map((r) => (r.ok ? 'ok' : r.permanent ? 'permanent' : 'retry'))).toEqual([
      'retry',
      'retry',
      'retry',
      'retry',
      'permanent',
      'permanent',
      'permanent',
    ]);
    // A port nobody listens on any more (a new origin, so no pooled connection is reused).
    const gone = await webhookReceiver({ secret: SECRET });
    await gone.close();
    const downCh = webhookChannel({ id: 'sms', url: gone.url, secret: SECRET, clock });
    const down = await downCh.send(message, { id: 'x', address: '' });
    expect(down).toEqual({ ok: false, permanent: false, error: 'request failed (ECONNREFUSED)' });
    expect(JSON.stringify(down)).not.toContain(gone.url.split('/')[2]);
  });
});

describe('verifyWebhook', () => {
  const now = Date.UTC(2026, 10, 29, 7, 0, 0);
  const body = JSON.stringify({ delivery: 'd-1', text: '경계 Warning' });
  const headers = (over: Record<string, string> = {}) => ({
    'X-Slopeguard-Timestamp': String(now),
    'X-Slopeguard-Signature': signWebhook(body, SECRET, now),
    'X-Slopeguard-Delivery': 'd-1',
    ...over,
  });

  it('accepts a correct request, with header names in any case and the body as bytes', () => {
    expect(verifyWebhook(headers(), body, SECRET, now + 1_000, 5_000)).toEqual({
      ok: true,
      deliveryId: 'd-1',
      timestamp: now,
    });
    expect(verifyWebhook(headers(), new TextEncoder().encode(body), SECRET, now, 5_000).ok).toBe(true);
  });

  it('refuses a changed body, a changed timestamp, a wrong key and missing headers', () => {
    expect(verifyWebhook(headers(), body.replace('경계', '주의'), SECRET, now)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyWebhook(headers({ 'X-Slopeguard-Timestamp': String(now + 1) }), body, SECRET, now)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyWebhook(headers(), body, 'other-key', now).ok).toBe(false);
    expect(verifyWebhook(headers({ 'X-Slopeguard-Signature': 'sha256=00' }), body, SECRET, now).ok).toBe(
      false,
    );
    const { 'X-Slopeguard-Delivery': _, ...noDelivery } = headers();
    expect(verifyWebhook(noDelivery, body, SECRET, now)).toEqual({ ok: false, reason: 'missing-header' });
    expect(verifyWebhook(headers({ 'X-Slopeguard-Timestamp': '1e12' }), body, SECRET, now)).toEqual({
      ok: false,
      reason: 'bad-timestamp',
    });
  });

  it('refuses a timestamp outside the tolerance on either side', () => {
    expect(verifyWebhook(headers(), body, SECRET, now + 5_001, 5_000)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyWebhook(headers(), body, SECRET, now - 5_001, 5_000)).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it('accepts the old and the new key while a key is being replaced', () => {
    expect(verifyWebhook(headers(), body, ['new-key-0123', SECRET], now).ok).toBe(true);
  });
});
