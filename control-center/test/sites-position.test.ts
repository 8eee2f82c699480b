import { siteConfig } from '@slopeguard/core/engine/index.ts';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/** The sites API carries a site's map position when its site file gives one (and only then). */
describe('site position in the sites API', () => {
  const bed = centerBed('pos');
  let center: ControlCenter;
  let viewer: SignedIn;

  beforeAll(async () => {
    const store = await bed.open();
    const ts = Date.now() - 60_000;
    await store.write(
      ['placed', 'unplaced', 'unconfigured'].map((site) => ({
        site,
        gateway: 'gw-1',
        sensor: 'tilt-1',
        kind: 'tilt' as const,
        ts,
        values: { x: 0, y: 0 },
      })),
    );
    const sensors = [{ id: 'tilt-1', kind: 'tilt' as const }];
    center = await bed.start({
      sites: {
        configs: new Map([
          ['placed', siteConfig({ id: 'placed', position: [37.4659, 127.0289], sensors })],
          ['unplaced', siteConfig({ id: 'unplaced', sensors })],
        ]),
      },
    });
    viewer = await signIn(center, 'viewer');
  });
  afterAll(() => bed.close());

  it('lists position [lat, lon] for a site whose file gives it, and no key otherwise', async () => {
    const body = (await (await viewer.fetch('api/v1/sites')).json()) as {
      sites: Array<{ id: string; position?: unknown }>;
    };
    const byId = new Map(body.sites.map((s) => [s.id, s]));
    expect([...byId.keys()].sort()).toEqual(['placed', 'unconfigured', 'unplaced']);
    expect(byId.get('placed')?.position).toEqual([37.4659, 127.0289]);
    expect(byId.get('unplaced')).not.toHaveProperty('position');
    expect(byId.get('unconfigured')).not.toHaveProperty('position');
  });

  it('gives the position on the one-site route too', async () => {
    const one = (await (await viewer.fetch('api/v1/sites/placed')).json()) as {
      id: string;
      position?: unknown;
    };
    expect(one).toMatchObject({ id: 'placed', position: [37.4659, 127.0289] });
    const other = (await (await viewer.fetch('api/v1/sites/unplaced')).json()) as Record<string, unknown>;
    expect(other.id).toBe('unplaced');
    expect(other).not.toHaveProperty('position');
  });

  it('gives the position in the socket.io snapshot too, so a reconnecting map keeps it', async () => {
    const socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: viewer.cookie },
    });
    const list = await new Promise<Array<{ id: string; position?: unknown }>>((resolve, reject) => {
      socket.on('snapshot', resolve);
      socket.on('connect_error', reject);
    });
    socket.close();
    expect(list.find((s) => s.id === 'placed')?.position).toEqual([37.4659, 127.0289]);
    expect(list.find((s) => s.id === 'unplaced')).not.toHaveProperty('position');
  });
});
