import type { Store } from '@slopeguard/broker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';

/**
 * Issue 10: /readyz answers 200 while the readings store (a real SQLite file) and the broker (Debian's
 * mosquitto) are reachable, and 503 naming the part that is not once they go away.
 */
describe('/readyz', () => {
  const bed = centerBed('ready');
  let store: Store;
  let center: ControlCenter;

  beforeAll(async () => {
    store = await bed.open();
    center = await bed.start();
  });
  afterAll(() => bed.close());

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
    await bed.broker.stop();
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
