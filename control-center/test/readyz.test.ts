import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type Store } from '@slopeguard/broker';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';

/**
 * Issue 10: /readyz answers 200 while the readings store (a real SQLite file) and the broker (Debian's
 * mosquitto) are reachable, and 503 naming the part that is not once they go away.
 */
describe('/readyz', () => {
  let dir: string;
  let broker: Mosquitto;
  let store: Store;
  let center: ControlCenter;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-ready-'));
    broker = await startMosquitto();
    store = openSqliteStore(join(dir, 'readings.sqlite'));
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      store,
      webRoot: join(dir, 'no-web'),
    });
  });
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ready = async () => {
    const res = await fetch(`${center.url}readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('is 200 with both parts up, needing no sign-in', async () => {
    await vi.waitFor(async () => expect((await ready()).status).toBe(200), { timeout: 5000 });
    expect((await ready()).body).toEqual({
      ready: true,
      checks: { store: { ok: true }, broker: { ok: true } },
    });
  });

  it('is 503 naming the store when the store is closed', async () => {
    await store.close();
    expect(await ready()).toEqual({
      status: 503,
      body: {
        ready: false,
        checks: { store: { ok: false, detail: 'unreachable' }, broker: { ok: true } },
        error: 'SG_ERR_UNAVAILABLE',
        message: 'not ready: store unreachable',
      },
    });
  });

  it('is 503 naming the broker too once mosquitto is stopped', async () => {
    await broker.stop();
    await vi.waitFor(
      async () => expect((await ready()).body.checks).toMatchObject({ broker: { ok: false } }),
      {
        timeout: 5000,
      },
    );
    expect(await ready()).toEqual({
      status: 503,
      body: {
        ready: false,
        checks: {
          store: { ok: false, detail: 'unreachable' },
          broker: { ok: false, detail: 'not connected' },
        },
        error: 'SG_ERR_UNAVAILABLE',
        message: 'not ready: store and broker unreachable',
      },
    });
  });
});
