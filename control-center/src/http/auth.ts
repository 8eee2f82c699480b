import { timingSafeEqual } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditAction } from '../audit/actions.ts';
import type { AuditInput, AuditLog } from '../audit/audit-log.ts';
import type { SessionStore } from '../auth/sessions.ts';
import type { ApiTokenStore, TokenScope } from '../auth/tokens.ts';
import type { Role, UserStore } from '../auth/users.ts';
import { sendError } from './errors.ts';

/** Who is asking: a signed-in person (cookie session) or a machine (API token). */
export type Principal =
  | { kind: 'user'; id: number; username: string; role: Role; csrf: string; token: string }
  | { kind: 'token'; id: number; name: string; scope: TokenScope };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Set when a state-changing request passes its guard; cleared when the handler audits it. */
    auditPending: AuditAction | null;
  }
}

export const SESSION_COOKIE = 'sg_session';
export const CSRF_HEADER = 'x-csrf-token';

/** What a route needs: `read` (any signed-in role, or a read/operator token), `operator`, `admin`, `open-data`. */
export type Need = 'read' | 'operator' | 'admin' | 'open-data';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function allows(p: Principal, need: Need): boolean {
  if (p.kind === 'token') {
    if (need === 'open-data') return p.scope === 'open-data' || p.scope === 'read' || p.scope === 'operator';
    if (need === 'read') return p.scope === 'read' || p.scope === 'operator';
    return need === 'operator' && p.scope === 'operator';
  }
  if (need === 'read' || need === 'open-data') return true;
  return RANK[p.role] >= RANK[need];
}

export function actorOf(p: Principal | null): string {
  if (!p) return 'anonymous';
  return p.kind === 'user' ? p.username : `token:${p.name}`;
}

export interface AuthContext {
  users: UserStore;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  audit: AuditLog;
  /** Secure cookies (set behind TLS, or when the request came over HTTPS). */
  secureCookies: boolean;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Resolves the principal of a cookie header (used by socket.io too). */
export function principalFromCookie(ctx: AuthContext, cookieHeader: string | undefined): Principal | null {
  if (!cookieHeader) return null;
  const token = fastifyCookie.parse(cookieHeader)[SESSION_COOKIE];
  if (!token) return null;
  const s = ctx.sessions.get(token);
  if (!s) return null;
  const u = ctx.users.byId(s.userId);
  if (!u || u.disabled) return null;
  return { kind: 'user', id: u.id, username: u.username, role: u.role, csrf: s.csrf, token };
}

export async function registerAuth(app: FastifyInstance, ctx: AuthContext): Promise<void> {
  await app.register(fastifyCookie);
  app.decorateRequest('principal', null);
  app.decorateRequest('auditPending', null);
  // An allowed state-changing request that its handler did not audit (it failed: 404, 409, a
  // validation error, an exception) is audited here, so no allowed action goes unrecorded. On
  // send, not on response: the record exists before the client has the answer.
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.auditPending) return payload; // undefined on routes registered before this plugin (docs)
    auditRequest(ctx, req, {
      action: req.auditPending,
      target: req.url.slice(0, 200),
      outcome: 'failed',
      detail: { status: reply.statusCode },
    });
    return payload;
  });
  app.addHook('onRequest', async (req) => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const t = ctx.tokens.verify(auth.slice(7).trim());
      req.principal = t ? { kind: 'token', id: t.id, name: t.name, scope: t.scope } : null;
      return;
    }
    req.principal = principalFromCookie(ctx, req.headers.cookie);
  });
}

/** Appends an audit record for this request (actor and address from the request). */
export function auditRequest(
  ctx: Pick<AuthContext, 'audit'>,
  req: FastifyRequest,
  entry: Omit<AuditInput, 'actor' | 'address'> & { actor?: string },
): void {
  req.auditPending = null;
  ctx.audit.append({ actor: entry.actor ?? actorOf(req.principal), address: req.ip, ...entry });
}

/**
 * The guard of every API route: 401 without a principal, 403 for a role or scope that does not
 * allow it, 403 for a state-changing request from a cookie session without the session's CSRF
 * token (a header a cross-site form cannot set). Refusals of a known principal are audited.
 */
export function guard(ctx: AuthContext, need: Need, action?: AuditAction) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const p = req.principal;
    if (!p) return sendError(reply, 'SG_ERR_UNAUTHENTICATED');
    const changing = STATE_CHANGING.has(req.method);
    if (changing && p.kind === 'user') {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, p.csrf)) {
        auditRequest(ctx, req, {
          action: action ?? 'http.request',
          target: req.url.slice(0, 200),
          outcome: 'refused',
          detail: { reason: 'csrf' },
        });
        return sendError(reply, 'SG_ERR_CSRF');
      }
    }
    if (!allows(p, need)) {
      if (changing)
        auditRequest(ctx, req, {
          action: action ?? 'http.request',
          target: req.url.slice(0, 200),
          outcome: 'refused',
          detail: { reason: 'role', need },
        });
      return sendError(reply, 'SG_ERR_FORBIDDEN');
    }
    if (changing) req.auditPending = action ?? 'http.request';
  };
}
