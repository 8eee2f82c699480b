import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { defaultArea } from '../src/warn/area.ts';
import { parseWarnConfig } from '../src/warn/config.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10, acceptance 3, over every state-changing route the server registered (the table must
 * cover them all, so a new route cannot slip past): anonymous 401, a role too low 403, a session
 * without the CSRF token 403, and an audit record whenever the request is allowed.
 */
type Need = 'read' | 'operator' | 'admin';
const ROUTES: Record<string, { need: Need; path: string; body?: unknown }> = {
  'POST /api/v1/alerts/:id/ack': { need: 'operator', path: 'api/v1/alerts/1/ack', body: { comment: 'seen' } },
  'POST /api/v1/alerts/:id/comments': {
    need: 'operator',
    path: 'api/v1/alerts/1/comments',
    body: { comment: 'x' },
  },
  'POST /api/v1/sites/:site/manual-level': {
    need: 'operator',
    path: 'api/v1/sites/slope-a/manual-level',
    body: { level: 2, reason: 'patrol' },
  },
  'POST /api/v1/sites/:site/release': {
    need: 'operator',
    path: 'api/v1/sites/slope-a/release',
    body: { reason: 'ok now' },
  },
  'POST /api/v1/users': {
    need: 'admin',
    path: 'api/v1/users',
    body: { username: 'newbie', role: 'viewer', password: 'a-long-enough-password' },
  },
  'POST /api/v1/users/:username/disable': { need: 'admin', path: 'api/v1/users/newbie/disable' },
  'POST /api/v1/users/:username/enable': { need: 'admin', path: 'api/v1/users/newbie/enable' },
  'POST /api/v1/users/:username/password': {
    need: 'admin',
    path: 'api/v1/users/newbie/password',
    body: { password: 'another-long-password' },
  },
  'POST /api/v1/tokens': { need: 'admin', path: 'api/v1/tokens', body: { name: 'scraper', scope: 'read' } },
  'DELETE /api/v1/tokens/:id': { need: 'admin', path: 'api/v1/tokens/1' },
  'POST /api/v1/gateways/:site/:gateway/commands': {
    need: 'operator',
    path: 'api/v1/gateways/slope-a/gw-1/commands',
    body: { name: 'health-report', args: {} },
  },
  'POST /api/v1/warn/drills': {
    need: 'operator',
    path: 'api/v1/warn/drills',
    body: { area: 'slope-a', level: 2 },
  },
  'POST /api/v1/sites/:site/backtest': {
    need: 'read',
    path: 'api/v1/sites/slope-a/backtest',
    body: { from: '0', to: '1' },
  },
  // Last: it ends the session it is sent with.
  'DELETE /api/v1/session': { need: 'read', path: 'api/v1/session' },
};
const RANK: Record<Need, number> = { read: 0, operator: 1, admin: 2 };

describe('every state-changing route: 401, 403, CSRF, audit', () => {
  let dir: string;
  let broker: Mosquitto;
  let center: ControlCenter;
  const as: Partial<Record<'viewer' | 'operator' | 'admin', SignedIn>> = {};
  const user = (role: 'viewer' | 'operator' | 'admin'): SignedIn => {
    const u = as[role];
    if (!u) throw new Error(`no ${role} signed in`);
    return u;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-routes-'));
    broker = await startMosquitto();
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      webRoot: join(dir, 'no-web'),
      // Residents' warnings on, so that their routes are covered too.
      warn: warnOptions(dir),
      commandTimeoutMs: 200,
    });
    for (const role of ['viewer', 'operator', 'admin'] as const) as[role] = await signIn(center, role);
  });
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the table covers every state-changing API route', () => {
    const changing = center.routes
      .filter((r) => r.url.startsWith('/api/') && !['GET', 'HEAD', 'OPTIONS'].includes(r.method))
      .map((r) => `${r.method} ${r.url}`)
      .filter((k) => k !== 'POST /api/v1/session'); // sign-in: anonymous by nature, audited (auth.test.ts)
    expect(changing.sort()).toEqual(Object.keys(ROUTES).sort());
  });

  for (const [key, route] of Object.entries(ROUTES)) {
    it(key, async () => {
      const method = key.split(' ')[0] as string;
      const body = route.body;
      const anonymous = await fetch(`${center.url}${route.path}`, {
        method,
        ...(body !== undefined
          ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
          : {}),
      });
      expect(anonymous.status).toBe(401);
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        if (RANK[role === 'viewer' ? 'read' : role] >= RANK[route.need]) continue;
        const low = await user(role).fetch(route.path, { method, body });
        expect(low.status, `${role}`).toBe(403);
        expect(((await low.json()) as { error: string }).error).toBe('SG_ERR_FORBIDDEN');
      }
      const who = route.need === 'read' ? 'viewer' : route.need;
      const noCsrf = await user(who).fetch(route.path, { method, body, csrf: false });
      expect(noCsrf.status).toBe(403);
      expect(((await noCsrf.json()) as { error: string }).error).toBe('SG_ERR_CSRF');

      const before = [...center.audit.iterate()].length;
      const allowed = await user(who).fetch(route.path, { method, body });
      expect([401, 403]).not.toContain(allowed.status);
      const after = [...center.audit.iterate()];
      expect(after.length).toBeGreaterThan(before);
      expect(after.at(-1)?.actor).toBe(user(who).username);
    });
  }
});

function warnOptions(dataDir: string) {
  const r = parseWarnConfig({}, { dataDir });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return {
    config: r.value,
    areas: new Map([['slope-a', defaultArea({ id: 'slope-a', position: [37.47, 127.02] })]]),
  };
}
