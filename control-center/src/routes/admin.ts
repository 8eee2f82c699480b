import { Type } from '@sinclair/typebox';
import { childLogger } from '@slopeguard/core/log.ts';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditAction } from '../audit/actions.ts';
import { TOKEN_SCOPES, type TokenScope } from '../auth/tokens.ts';
import { ROLES, type Role, UserError } from '../auth/users.ts';
import { type AuthContext, actorOf, auditRequest, guard } from '../http/auth.ts';
import { ApiError, sendError } from '../http/errors.ts';
import { countRefusals } from '../http/refusals.ts';
import { ErrorBody } from '../http/schemas.ts';
import { registerAuditRoutes } from './audit.ts';

const User = Type.Object({
  username: Type.String(),
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  disabled: Type.Boolean(),
  created: Type.Integer(),
});
const NewUser = Type.Object(
  {
    username: Type.String({ minLength: 2, maxLength: 32 }),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    password: Type.String({ minLength: 12, maxLength: 256 }),
  },
  { additionalProperties: false },
);
const Username = Type.Object({ username: Type.String({ maxLength: 32 }) });
const Password = Type.Object(
  { password: Type.String({ minLength: 12, maxLength: 256 }) },
  { additionalProperties: false },
);
const Token = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  scope: Type.Union(TOKEN_SCOPES.map((s) => Type.Literal(s))),
  createdBy: Type.String(),
  created: Type.Integer(),
  revoked: Type.Union([Type.Integer(), Type.Null()]),
});
const NewToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    scope: Type.Union(TOKEN_SCOPES.map((s) => Type.Literal(s))),
  },
  { additionalProperties: false },
);
const errors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

const userError = (err: unknown): never => {
  if (err instanceof UserError) {
    if (err.code === 'SG_ERR_NO_USER') throw new ApiError('SG_ERR_NO_USER', err.message);
    if (err.code === 'SG_ERR_USER_EXISTS') throw new ApiError('SG_ERR_CONFLICT', err.message);
    throw new ApiError('SG_ERR_BAD_REQUEST', err.message);
  }
  throw err;
};

export interface AdminRouteDeps {
  metrics: Registry;
  logger: Logger;
  now: () => number;
}

/**
 * Users, API tokens and the audit trail: admins only. Every change is audited (never a secret);
 * every refused request (401, 403, 400, 404, ...) is counted in `slopeguard_admin_refused_total`
 * and logged at most once a minute per route and status.
 */
export async function registerAdminRoutes(
  parent: FastifyInstance,
  ctx: AuthContext,
  deps: AdminRouteDeps,
): Promise<void> {
  await parent.register(async (app) => {
    countRefusals(app, {
      name: 'slopeguard_admin_refused_total',
      help: 'Requests to the admin routes (users, tokens, audit) refused, by route and HTTP status',
      metrics: deps.metrics,
      log: childLogger(deps.logger, { component: 'admin-http' }),
      now: deps.now,
      message: 'admin route refused a request',
    });
    adminRoutes(app, ctx);
  });
}

function adminRoutes(app: FastifyInstance, ctx: AuthContext): void {
  const admin = (action?: AuditAction) => guard(ctx, 'admin', action);

  app.get(
    '/api/v1/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'List users',
        response: { 200: Type.Object({ users: Type.Array(User) }), ...errors },
      },
      preValidation: admin(),
    },
    async () => ({ users: ctx.users.list() }),
  );
  app.post<{ Body: { username: string; role: Role; password: string } }>(
    '/api/v1/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'Add a user',
        body: NewUser,
        response: { 201: User, 400: ErrorBody, ...errors },
      },
      preValidation: admin('user.add'),
    },
    async (req, reply) => {
      const u = await ctx.users.add(req.body.username, req.body.role, req.body.password).catch(userError);
      auditRequest(ctx, req, {
        action: 'user.add',
        target: u.username,
        outcome: 'ok',
        detail: { role: u.role },
      });
      return reply.code(201).send(u);
    },
  );
  app.post<{ Params: { username: string } }>(
    '/api/v1/users/:username/disable',
    {
      schema: {
        tags: ['admin'],
        summary: 'Disable a user (ends their sessions)',
        params: Username,
        response: { 200: User, ...errors },
      },
      preValidation: admin('user.disable'),
    },
    async (req) => {
      let u: ReturnType<typeof ctx.users.setDisabled>;
      try {
        u = ctx.users.setDisabled(req.params.username, true);
      } catch (err) {
        return userError(err);
      }
      auditRequest(ctx, req, { action: 'user.disable', target: u.username, outcome: 'ok' });
      return u;
    },
  );
  app.post<{ Params: { username: string } }>(
    '/api/v1/users/:username/enable',
    {
      schema: {
        tags: ['admin'],
        summary: 'Enable a disabled user again (they sign in anew; old sessions stay ended)',
        params: Username,
        response: { 200: User, ...errors },
      },
      preValidation: admin('user.enable'),
    },
    async (req) => {
      const was = ctx.users.get(req.params.username);
      let u: ReturnType<typeof ctx.users.setDisabled>;
      try {
        u = ctx.users.setDisabled(req.params.username, false);
      } catch (err) {
        return userError(err);
      }
      auditRequest(ctx, req, {
        action: 'user.enable',
        target: u.username,
        outcome: 'ok',
        detail: { wasDisabled: was?.disabled ?? false },
      });
      return u;
    },
  );
  app.post<{ Params: { username: string }; Body: { password: string } }>(
    '/api/v1/users/:username/password',
    {
      schema: {
        tags: ['admin'],
        summary: 'Set a user password (ends their sessions)',
        params: Username,
        body: Password,
        response: { 200: Type.Object({ ok: Type.Literal(true) }), 400: ErrorBody, ...errors },
      },
      preValidation: admin('user.passwd'),
    },
    async (req) => {
      await ctx.users.setPassword(req.params.username, req.body.password).catch(userError);
      auditRequest(ctx, req, { action: 'user.passwd', target: req.params.username, outcome: 'ok' });
      return { ok: true as const };
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['admin'],
        summary: 'List API tokens (never their secrets)',
        response: { 200: Type.Object({ tokens: Type.Array(Token) }), ...errors },
      },
      preValidation: admin(),
    },
    async () => ({ tokens: ctx.tokens.list() }),
  );
  app.post<{ Body: { name: string; scope: TokenScope } }>(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create an API token: the secret is shown once',
        body: NewToken,
        response: { 201: Type.Object({ token: Type.String(), info: Token }), ...errors },
      },
      preValidation: admin('token.create'),
    },
    async (req, reply) => {
      const t = ctx.tokens.create(req.body.name, req.body.scope, actorOf(req.principal));
      auditRequest(ctx, req, {
        action: 'token.create',
        target: String(t.info.id),
        outcome: 'ok',
        detail: { name: t.info.name, scope: t.info.scope },
      });
      return reply.code(201).send(t);
    },
  );
  app.delete<{ Params: { id: number } }>(
    '/api/v1/tokens/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke an API token',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: { 200: Token, ...errors },
      },
      preValidation: admin('token.revoke'),
    },
    async (req, reply) => {
      const t = ctx.tokens.revoke(req.params.id);
      if (!t) return sendError(reply, 'SG_ERR_NOT_FOUND', `no active token ${req.params.id}`);
      auditRequest(ctx, req, {
        action: 'token.revoke',
        target: String(t.id),
        outcome: 'ok',
        detail: { name: t.name },
      });
      return t;
    },
  );

  registerAuditRoutes(app, ctx.audit, admin());
}
