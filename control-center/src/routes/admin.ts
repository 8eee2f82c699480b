import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AUDIT_CSV_HEADER, auditCsvLine, auditNdjsonLine, verifyAudit } from '../audit/audit-log.ts';
import { TOKEN_SCOPES, type TokenScope } from '../auth/tokens.ts';
import { ROLES, type Role, UserError } from '../auth/users.ts';
import { type AuthContext, actorOf, auditRequest, guard } from '../http/auth.ts';
import { ApiError, sendError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';

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

/** Users, API tokens and the audit trail: admins only. Every change is audited (never a secret). */
export function registerAdminRoutes(app: FastifyInstance, ctx: AuthContext): void {
  const admin = (action?: string) => guard(ctx, 'admin', action);

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

  app.get<{ Querystring: { format?: 'json' | 'ndjson' | 'csv'; after?: number; limit?: number } }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'Read or export the audit trail (json, ndjson, csv) and check its chain',
        querystring: Type.Object({
          format: Type.Optional(
            Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')]),
          ),
          after: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
        }),
      },
      preValidation: admin(),
    },
    async (req, reply) => {
      const format = req.query.format ?? 'json';
      const records = ctx.audit.list({ after: req.query.after, limit: req.query.limit });
      if (format === 'json') return { records, chain: verifyAudit(ctx.audit.iterate()) };
      const name = `slopeguard-audit.${format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`);
      if (format === 'ndjson')
        return reply.type('application/x-ndjson').send(records.map(auditNdjsonLine).join(''));
      return reply
        .type('text/csv; charset=utf-8')
        .send(AUDIT_CSV_HEADER + records.map(auditCsvLine).join(''));
    },
  );
}
