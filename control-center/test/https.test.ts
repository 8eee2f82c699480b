import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createServerCert } from '@slopeguard/broker';
import pino from 'pino';
import { Registry } from 'prom-client';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';

/**
 * Issue 10: the optional HTTPS listener, from the certificate files `slopeguard certs` makes
 * (openssl), checked with a real TLS client that trusts only that CA: sign-in over TLS sets a
 * Secure cookie, and the session works over HTTPS and socket.io.
 */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('HTTPS listener', () => {
  let dir: string;
  let ca: Buffer;
  let broker: Mosquitto;
  let center: ControlCenter;

  const call = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        `${center.url}${path}`,
        { method: init.method ?? 'GET', headers: init.headers ?? {}, ca },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-https-'));
    await createCa(dir, {});
    const server = await createServerCert(dir, ['127.0.0.1', 'localhost']);
    ca = readFileSync(join(dir, 'ca.crt'));
    broker = await startMosquitto();
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0, tls: { cert: server.cert, key: server.key } },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      webRoot: join(dir, 'no-web'),
    });
    await center.users.add('night-duty', 'operator', 'correct-horse-battery');
  });
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in over TLS with a Secure, HttpOnly, SameSite=Strict cookie that then works', async () => {
    expect(center.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const signin = await call('api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'night-duty', password: 'correct-horse-battery' }),
    });
    expect(signin.status).toBe(200);
    const setCookie = [signin.headers['set-cookie'] ?? []].flat().join('\n');
    expect(setCookie).toMatch(/sg_session=/);
    expect(setCookie).toMatch(/;\s*Secure/i);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=Strict/i);
    expect(signin.headers['strict-transport-security']).toBe('max-age=31536000');
    const cookie = setCookie.split(';')[0] as string;
    const sites = await call('api/v1/sites', { headers: { cookie } });
    expect(sites.status).toBe(200);
    expect(JSON.parse(sites.body)).toEqual({ sites: [] });

    // socket.io over the same TLS listener, with the session cookie.
    const socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie },
      ca: ca.toString(),
    });
    const snapshot = await new Promise((resolve, reject) => {
      socket.on('snapshot', resolve);
      socket.on('connect_error', reject);
    });
    socket.close();
    expect(snapshot).toEqual([]);
  });

  it('refuses a client that does not trust the CA, and plain HTTP', async () => {
    const untrusted = new Promise<number>((resolve, reject) => {
      const req = request(`${center.url}healthz`, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    await expect(untrusted).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    const plain = await fetch(`${center.url.replace('https:', 'http:')}healthz`).then(
      (r) => r.status,
      (err: Error) => err.name,
    );
    expect(plain).not.toBe(200);
  });
});
