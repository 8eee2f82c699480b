import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { SignInLimiter } from '../auth/rate-limit.ts';
import { type AuthContext, auditRequest, CSRF_HEADER, guard, SESSION_COOKIE } from '../http/auth.ts';
import { sendError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';

const SignIn = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
const SessionInfo = Type.Object({
  user: Type.Object({ username: Type.String(), role: Type.String() }),
  csrf: Type.String({
    description: `send it back in the ${CSRF_HEADER} header of every state-changing request`,
  }),
  expires: Type.Optional(Type.Integer()),
});

/**
 * Sign-in, the current session, sign-out. The session cookie is HttpOnly, SameSite=Strict, and
 * Secure behind TLS; the CSRF token travels in the body, never in a cookie.
 */
export function registerSessionRoutes(app: FastifyInstance, ctx: AuthContext, limiter: SignInLimiter): void {
  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Sign in',
        body: SignIn,
        response: { 200: SessionInfo, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const wait = limiter.begin(username, req.ip);
      if (wait > 0) {
        reply.header('retry-after', Math.ceil(wait / 1000));
        auditRequest(ctx, req, {
          actor: username.slice(0, 64),
          action: 'session.sign_in',
          target: username.slice(0, 64),
          outcome: 'refused',
          detail: { reason: 'rate_limited' },
        });
        return sendError(reply, 'SG_ERR_RATE_LIMITED');
      }
      let user: Awaited<ReturnType<typeof ctx.users.verify>>;
      try {
        user = await ctx.users.verify(username, password);
      } finally {
        limiter.end(username, req.ip, false);
      }
      if (!user) {
        auditRequest(ctx, req, {
          actor: username.slice(0, 64),
          action: 'session.sign_in',
          target: username.slice(0, 64),
          outcome: 'refused',
          detail: { reason: 'credentials' },
        });
        return sendError(reply, 'SG_ERR_SIGNIN');
      }
      limiter.end(username, req.ip, true);
      const s = ctx.sessions.create(user.id, req.ip);
      reply.setCookie(SESSION_COOKIE, s.token, {
        httpOnly: true,
        sameSite: 'strict',
        secure: ctx.secureCookies || req.protocol === 'https',
        path: '/',
        expires: new Date(s.expires),
      });
      auditRequest(ctx, req, {
        actor: user.username,
        action: 'session.sign_in',
        target: user.username,
        outcome: 'ok',
      });
      return { user: { username: user.username, role: user.role }, csrf: s.csrf, expires: s.expires };
    },
  );

  app.get(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'The signed-in user and CSRF token',
        response: { 200: SessionInfo, 401: ErrorBody },
      },
      preValidation: guard(ctx, 'read'),
    },
    async (req, reply) => {
      const p = req.principal;
      if (p?.kind !== 'user') return sendError(reply, 'SG_ERR_UNAUTHENTICATED', 'a session, not a token');
      return { user: { username: p.username, role: p.role }, csrf: p.csrf };
    },
  );

  app.delete(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Sign out',
        response: { 204: Type.Null(), 401: ErrorBody, 403: ErrorBody },
      },
      preValidation: guard(ctx, 'read', 'session.sign_out'),
    },
    async (req, reply) => {
      const p = req.principal;
      if (p?.kind === 'user') ctx.sessions.delete(p.token);
      auditRequest(ctx, req, {
        action: 'session.sign_out',
        target: p?.kind === 'user' ? p.username : '',
        outcome: 'ok',
      });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  );
}
