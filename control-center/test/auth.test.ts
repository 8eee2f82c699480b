import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/audit/audit-log.ts';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { signIn } from './sign-in.ts';

/** Operators and security (issue 10): sessions, CSRF, roles, sign-in throttling, expiry, tokens. */
describe('sign-in and sessions', { timeout: 60_000 }, () => {
  const bed = centerBed('auth', { readings: false });
  let center: ControlCenter;
  let now = Date.UTC(2026, 10, 29, 8, 0);

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${center.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    center = await bed.start({
      db: { path: join(bed.dir, 'cc.sqlite') },
      auth: { sessionTtlMs: 3_600_000 },
      tickMs: 3_600_000,
      now: () => now,
    });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('sets an HttpOnly, SameSite=Strict session cookie, and the session expires', async () => {
    await center.users.add('kim', 'operator', 'kim-password-long-enough');
    const res = await post('api/v1/session', { username: 'kim', password: 'kim-password-long-enough' });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sg_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure'); // plain HTTP here; Secure behind TLS (secureCookies)
    const session = cookie.split(';')[0] as string;
    expect((await fetch(`${center.url}api/v1/sites`, { headers: { cookie: session } })).status).toBe(200);
    expect((await fetch(`${center.url}api/v1/sites`)).status).toBe(401);
    // The database keeps only a hash of the session id.
    const stored = center.db
      .prepare('SELECT token_hash FROM sessions')
      .all()
      .map((r) => r.token_hash);
    expect(stored).not.toContain(session.slice('sg_session='.length));
    now += 3_600_001;
    expect((await fetch(`${center.url}api/v1/sites`, { headers: { cookie: session } })).status).toBe(401);
  });

  it('backs off after repeated failures from one address, and counts attempts in flight', async () => {
    await center.users.add('lee', 'viewer', 'lee-password-long-enough');
    // A parallel burst: at most two are checked at once and five failures are free, so however the
    // requests are scheduled at most six are checked (two at once when the fourth failure is
    // recorded); the rest are refused before any check. How many arrive while two are in flight
    // depends on the machine's load: sign-in-limiter.test.ts checks that bound on its own.
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        post('api/v1/session', { username: 'lee', password: 'wrong-guess-0000' }),
      ),
    );
    const codes = burst.map((r) => r.status);
    expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(6);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < 5; i++)
      await post('api/v1/session', { username: 'lee', password: `wrong-${i}-guess` });
    const limited = await post('api/v1/session', { username: 'lee', password: 'lee-password-long-enough' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toBe('SG_ERR_RATE_LIMITED');
    now += 16 * 60_000; // past the longest back-off
    expect(
      (await post('api/v1/session', { username: 'lee', password: 'lee-password-long-enough' })).status,
    ).toBe(200);
  });

  it('answers an unknown user like a wrong password, and a disabled user loses their session', async () => {
    const unknown = await post('api/v1/session', { username: 'nobody', password: 'whatever-password' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe('SG_ERR_SIGNIN');
    const admin = await signIn(center, 'admin');
    const park = await signIn(center, 'viewer', 'park');
    expect((await park.fetch('api/v1/sites')).status).toBe(200);
    expect((await admin.fetch('api/v1/users/park/disable', { method: 'POST' })).status).toBe(200);
    expect((await park.fetch('api/v1/sites')).status).toBe(401);
    expect(
      (await post('api/v1/session', { username: 'park', password: 'pw-park-correct-horse' })).status,
    ).toBe(401);
  });

  it('API tokens: shown once, scoped, revocable, stored hashed', async () => {
    const admin = await signIn(center, 'admin');
    const res = await admin.fetch('api/v1/tokens', {
      method: 'POST',
      body: { name: 'grafana', scope: 'read' },
    });
    expect(res.status).toBe(201);
    const { token, info } = (await res.json()) as { token: string; info: { id: number } };
    const bearer = { authorization: `Bearer ${token}` };
    expect((await fetch(`${center.url}api/v1/sites`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`${center.url}api/v1/users`, { headers: bearer })).status).toBe(403);
    const listed = JSON.stringify(await (await admin.fetch('api/v1/tokens')).json());
    expect(listed).not.toContain(token);
    expect((await admin.fetch(`api/v1/tokens/${info.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${center.url}api/v1/sites`, { headers: bearer })).status).toBe(401);
  });

  it('audits sign-ins (success and failure) and user changes, without secrets, in an intact chain', () => {
    const records = [...center.audit.iterate()];
    const actions = new Set(records.map((r) => `${r.action}:${r.outcome}`));
    for (const a of [
      'session.sign_in:ok',
      'session.sign_in:refused',
      'user.disable:ok',
      'token.create:ok',
      'token.revoke:ok',
    ])
      expect(actions).toContain(a);
    expect(JSON.stringify(records)).not.toMatch(/password|sgt_/);
    expect(verifyAudit(records).problems).toEqual([]);
  });
});
