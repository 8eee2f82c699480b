import { request } from 'node:http';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 9, critical finding 2: a retained status with a 100,000-deep field made GET /api/v1/sites
 * answer 500 and killed the process on the first socket.io connection (socket.io's hasBinary
 * recursed through it). Here the hostile messages sit retained in Debian's mosquitto, which checks
 * nothing, before the control center even starts.
 */
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const now = Date.now();

/** Raw JSON texts, so the nesting is never built as an object in this process. */
const HOSTILE: Array<[string, string]> = [
  // 100,000 deep (as found), and 20,000 deep (under the size bound, caught by the depth bound).
  ['slopeguard/v1/evil/gw-deep/status', `{"state":"online","ts":${now},"x":${deep(100_000)}}`],
  ['slopeguard/v1/evil/gw-deep2/status', `{"state":"online","ts":${now},"x":${deep(20_000)}}`],
  // Shallow but hostile: a 60 KB string, 3,000 keys, health fields of the wrong type.
  [
    'slopeguard/v1/evil/gw-huge/status',
    JSON.stringify({ state: 'online', ts: now, version: 'v'.repeat(60_000), queue: 'x', cpuTempC: 'hot' }),
  ],
  [
    'slopeguard/v1/evil/gw-wide/status',
    JSON.stringify({
      state: 'online',
      ts: now,
      queue: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i])),
    }),
  ],
  ['slopeguard/v1/evil/gw-deep/event', `{"type":"fault","ts":${now},"x":${deep(20_000)}}`],
  [
    'slopeguard/v1/evil/gw-wide/event',
    JSON.stringify({ type: 'fault', ts: now, nested: { a: { b: [1, 2] } } }),
  ],
  [
    'slopeguard/v1/evil/gw-deep/telemetry',
    `{"seq":1,"readings":[{"sensor":"t1","kind":"tilt","ts":${now},"values":{"x":1,"y":1,"Z":${deep(20_000)}}}]}`,
  ],
  [
    'slopeguard/v1/evil/gw-odd/telemetry',
    `{"seq":1,"readings":[{"sensor":"t1","kind":"tilt","ts":${now},"values":{"x":1,"y":2,"Z":{"a":[1]}}}]}`,
  ],
  ['slopeguard/v1/good/gw-1/status', JSON.stringify({ state: 'online', ts: now, cpuTempC: 41.5 })],
];

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('control center against hostile retained messages (mosquitto)', () => {
  const bed = centerBed('hostile', { readings: false });
  let center: ControlCenter;
  let viewer: SignedIn;
  const metrics = new Registry();
  const rejectedByReason = async () => {
    const m = await metrics.getSingleMetric('slopeguard_center_rejected_total')?.get();
    return Object.fromEntries((m?.values ?? []).map((v) => [v.labels.reason, v.value]));
  };
  const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    const pub = await mqtt.connectAsync((await bed.openBroker()).url, { clientId: 'evil-gateway' });
    // All retained, even telemetry and events: mosquitto keeps whatever it is told to.
    for (const [topic, payload] of HOSTILE) await pub.publishAsync(topic, payload, { qos: 1, retain: true });
    await pub.endAsync();
    center = await bed.start({
      metrics,
    });
    viewer = await signIn(center, 'viewer');
    // Every hostile message has been refused (and counted) once the count reaches their number.
    await vi.waitFor(async () => {
      expect(center.view.summary('good')?.gateways[0]?.state).toBe('online');
      expect(total(await rejectedByReason())).toBe(HOSTILE.length - 1);
    });
  });

  afterAll(async () => {
    await bed.close();
  });

  it('answers GET /api/v1/sites, with none of the hostile content', async () => {
    const res = await get(`${center.url}api/v1/sites`, { cookie: viewer.cookie });
    expect(res.status).toBe(200);
    const { sites } = JSON.parse(res.body) as { sites: Array<{ id: string }> };
    // Too large, too deep or outside the closed schemas: refused before they reach the live view.
    expect(sites.map((s) => s.id)).toEqual(['good']);
    expect(await rejectedByReason()).toEqual({ size: 1, depth: 3, schema: 4 });
  });

  it('gives a socket.io client its snapshot, and stays up', async () => {
    const socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: viewer.cookie },
    });
    const snapshot = await new Promise<Array<{ id: string }>>((resolve, reject) => {
      socket.on('snapshot', resolve);
      socket.on('connect_error', reject);
    });
    socket.close();
    expect(snapshot.map((s) => s.id)).toEqual(['good']);
    expect((await get(`${center.url}api/v1/sites`, { cookie: viewer.cookie })).status).toBe(200);
  });

  it('answers only allowed Host names (DNS rebinding)', async () => {
    const { port } = center;
    expect(
      (await get(`http://127.0.0.1:${port}/api/v1/sites`, { host: 'evil.example', cookie: viewer.cookie }))
        .status,
    ).toBe(403);
    expect(
      (
        await get(`http://127.0.0.1:${port}/api/v1/sites`, {
          host: `localhost:${port}`,
          cookie: viewer.cookie,
        })
      ).status,
    ).toBe(200);
  });

  it('sends security headers', async () => {
    const res = await get(`${center.url}api/v1/sites`, { cookie: viewer.cookie });
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses a socket.io connection from a foreign Origin or Host, or without a session', async () => {
    const foreign: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { host: 'evil.example' },
    ];
    for (const extraHeaders of [...foreign, {}]) {
      // Foreign Origin, foreign Host, or no session at all.
      if (Object.keys(extraHeaders).length > 0) extraHeaders.cookie = viewer.cookie;
      const socket = io(center.url, { transports: ['websocket'], reconnection: false, extraHeaders });
      const outcome = await new Promise<string>((resolve) => {
        socket.on('snapshot', () => resolve('snapshot'));
        socket.on('connect_error', () => resolve('refused'));
      });
      socket.close();
      expect(outcome).toBe('refused');
    }
    const same = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { origin: center.url.slice(0, -1), cookie: viewer.cookie },
    });
    await new Promise((resolve, reject) => {
      same.on('snapshot', resolve);
      same.on('connect_error', reject);
    });
    same.close();
  });
});
