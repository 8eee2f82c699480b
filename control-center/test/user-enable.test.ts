import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/audit/audit-log.ts';
import { sqliteSessionStore } from '../src/auth/sessions.ts';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Enabling a disabled user again (POST /api/v1/users/{username}/enable) on a real server with a
 * database file: admins only, CSRF like every session request, audited with its outcome, refusals
 * counted; and the account comes back without any session it had or that slipped in while it was
 * disabled.
 */
describe('enable a disabled user', { timeout: 60_000 }, () => {
  let dir: string;
  let broker: Mosquitto;
  let center: ControlCenter;
  const metrics = new Registry();
  let admin: SignedIn;
  let operator: SignedIn;

  const signInAs = (username: string, password: string) =>
    fetch(`${center.url}api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  const withCookie = (cookie: string) => fetch(`${center.url}api/v1/sites`, { headers: { cookie } });
  const refusedCount = async (status: number) => {
    const m = await metrics.getSingleMetric('slopeguard_admin_refused_total')?.get();
    return (
      m?.values.find(
        (v) => v.labels.route === '/api/v1/users/:username/enable' && v.labels.status === String(status),
      )?.value ?? 0
    );
  };
  const lastAudit = () => [...center.audit.iterate()].at(-1);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-enable-'));
    broker = await startMosquitto();
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics,
      webRoot: join(dir, 'no-web'),
      db: { path: join(dir, 'cc.sqlite') },
      tickMs: 3_600_000,
    });
    admin = await signIn(center, 'admin');
    operator = await signIn(center, 'operator');
  });
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('brings the account back without its old sessions, and audits it', async () => {
    const park = await signIn(center, 'viewer', 'park');
    expect((await park.fetch('api/v1/sites')).status).toBe(200);
    expect((await admin.fetch('api/v1/users/park/disable', { method: 'POST' })).status).toBe(200);
    expect((await park.fetch('api/v1/sites')).status).toBe(401);

    // A sign-in whose password check passed just before the disable stores its session after it
    // (the check is asynchronous): stored here as that sign-in would, with the server's own store.
    const id = center.users.get('park')?.id as number;
    const late = sqliteSessionStore(center.db, 3_600_000).create(id, '127.0.0.1');
    const lateCookie = `sg_session=${late.token}`;
    expect((await withCookie(lateCookie)).status).toBe(401);

    const res = await admin.fetch('api/v1/users/park/enable', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'park', role: 'viewer', disabled: false });
    expect(center.users.get('park')?.disabled).toBe(false);
    expect(lastAudit()).toMatchObject({
      actor: admin.username,
      action: 'user.enable',
      target: 'park',
      outcome: 'ok',
      detail: { wasDisabled: true },
    });

    // Neither the session from before the disable nor the late one comes back to life.
    expect((await park.fetch('api/v1/sites')).status).toBe(401);
    expect((await withCookie(lateCookie)).status).toBe(401);
    // A fresh sign-in works.
    const again = await signInAs('park', 'pw-park-correct-horse');
    expect(again.status).toBe(200);
    const cookie = (again.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await withCookie(cookie)).status).toBe(200);

    // Enabling an enabled account changes nothing: their new session stays.
    const twice = await admin.fetch('api/v1/users/park/enable', { method: 'POST' });
    expect(twice.status).toBe(200);
    expect(lastAudit()).toMatchObject({
      action: 'user.enable',
      outcome: 'ok',
      detail: { wasDisabled: false },
    });
    expect((await withCookie(cookie)).status).toBe(200);
    expect(verifyAudit(center.audit.iterate()).problems).toEqual([]);
  });

  it('refuses anyone but an admin, counts and audits the refusals', async () => {
    await center.users.add('lee', 'viewer', 'lee-password-long-enough');
    center.users.setDisabled('lee', true);

    const before403 = await refusedCount(403);
    const before401 = await refusedCount(401);
    const anonymous = await fetch(`${center.url}api/v1/users/lee/enable`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const low = await operator.fetch('api/v1/users/lee/enable', { method: 'POST' });
    expect(low.status).toBe(403);
    expect(((await low.json()) as { error: string }).error).toBe('SG_ERR_FORBIDDEN');
    expect(lastAudit()).toMatchObject({
      actor: operator.username,
      action: 'user.enable',
      outcome: 'refused',
      detail: { reason: 'role', need: 'admin' },
    });
    const noCsrf = await admin.fetch('api/v1/users/lee/enable', { method: 'POST', csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: string }).error).toBe('SG_ERR_CSRF');
    expect(lastAudit()).toMatchObject({
      action: 'user.enable',
      outcome: 'refused',
      detail: { reason: 'csrf' },
    });
    expect(center.users.get('lee')?.disabled).toBe(true);
    expect(await refusedCount(401)).toBe(before401 + 1);
    expect(await refusedCount(403)).toBe(before403 + 2);
  });

  it('answers 404 for an unknown user and audits the attempt as failed', async () => {
    const res = await admin.fetch('api/v1/users/nobody/enable', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('SG_ERR_NO_USER');
    expect(lastAudit()).toMatchObject({
      actor: admin.username,
      action: 'user.enable',
      outcome: 'failed',
      detail: { status: 404 },
    });
    expect(await refusedCount(404)).toBe(1);
  });
});
