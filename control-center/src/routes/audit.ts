import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, preValidationAsyncHookHandler } from 'fastify';
import { AUDIT_ACTIONS, AUDIT_FAMILIES, isAuditActionFilter } from '../audit/actions.ts';
import {
  AUDIT_CSV_HEADER,
  AUDIT_PAGE_MAX,
  type AuditLog,
  type AuditRecord,
  auditCsvLine,
  auditNdjsonLine,
  checkAuditRecords,
  verifyAudit,
} from '../audit/audit-log.ts';
import { ApiError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';
import { parseTime } from '../http/time-range.ts';

/** The largest seq a cursor may name (far beyond any trail; a bound on what the query binds). */
const MAX_SEQ = 2 ** 53 - 1;
const Outcome = Type.Union([Type.Literal('ok'), Type.Literal('refused'), Type.Literal('failed')]);
const Seq = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_SEQ, description });

const AuditQuerystring = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')])),
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'who acted, exactly (a username, token:NAME, cli, system:notify)',
      }),
    ),
    action: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: `an action or a family (the part before the dot); one of ${[...AUDIT_FAMILIES, ...AUDIT_ACTIONS].join(', ')}`,
      }),
    ),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the target, exactly' })),
    outcome: Type.Optional(Outcome),
    from: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'records at or after this time: ISO 8601 with a zone, or epoch ms',
      }),
    ),
    to: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'records at or before this time: ISO 8601 with a zone, or epoch ms',
      }),
    ),
    before: Type.Optional(
      Seq('newest-first paging: records with a seq below this (the `next` of the last page)'),
    ),
    after: Type.Optional(
      Seq('forward reading: records with a seq above this, oldest first (not with before)'),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: 1000 })),
  },
  { additionalProperties: false },
);
type AuditQuerystring = Static<typeof AuditQuerystring>;

const Record_ = Type.Object({
  seq: Type.Integer(),
  ts: Type.Integer(),
  actor: Type.String(),
  address: Type.String(),
  action: Type.String(),
  target: Type.String(),
  outcome: Outcome,
  detail: Type.Record(Type.String(), Type.Unknown()),
  prev: Type.String(),
  hash: Type.String(),
});
const Problems = Type.Array(
  Type.Object({
    seq: Type.Integer(),
    problem: Type.Union([
      Type.Literal('edited'),
      Type.Literal('missing_before'),
      Type.Literal('chain_broken'),
    ]),
  }),
);
const AuditPage = Type.Object({
  records: Type.Array(Record_),
  next: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'the cursor of the next page (send it as before, or as after when reading forward); null at the end',
  }),
  chain: Type.Object(
    {
      covers: Type.Literal('returned'),
      count: Type.Integer(),
      problems: Problems,
    },
    {
      description:
        'the records of this answer checked: each one its own hash and its link to the record before it in the trail. Records outside the answer are not checked: GET /api/v1/audit/verify walks the whole trail.',
    },
  ),
});
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

/** The query of a request: times parsed, an unknown action or a crossed range refused with its code. */
export function auditQueryOf(q: AuditQuerystring) {
  if (q.action !== undefined && !isAuditActionFilter(q.action))
    throw new ApiError(
      'SG_ERR_AUDIT_ACTION',
      `no audit action or family ${JSON.stringify(q.action.slice(0, 64))}; known: ${AUDIT_FAMILIES.join(', ')} and their actions`,
    );
  // The schema's bounds let "1e400" through as Infinity (Ajv's coercion): checked here.
  for (const [name, v] of [
    ['before', q.before],
    ['after', q.after],
    ['limit', q.limit],
  ] as const)
    if (v !== undefined && !Number.isSafeInteger(v))
      throw new ApiError('SG_ERR_BAD_REQUEST', `querystring/${name} must be an integer within bounds`);
  if (q.before !== undefined && q.after !== undefined)
    throw new ApiError('SG_ERR_BAD_REQUEST', 'before pages newest first and after reads forward: send one');
  const from = q.from === undefined ? undefined : parseTime(q.from, 'from');
  const to = q.to === undefined ? undefined : parseTime(q.to, 'to');
  if (from !== undefined && to !== undefined && from > to)
    throw new ApiError('SG_ERR_RANGE_ORDER', `from (${from}) is after to (${to})`);
  return {
    actor: q.actor,
    action: q.action,
    target: q.target,
    outcome: q.outcome,
    from,
    to,
    before: q.before,
    after: q.after,
    limit: q.limit ?? 1000,
  };
}

/**
 * The audit trail for admins: filtered on the server, newest first, paged by seq; exported as
 * NDJSON or CSV with the same filters and page; and the whole chain checked on request.
 */
export function registerAuditRoutes(
  app: FastifyInstance,
  audit: AuditLog,
  admin: preValidationAsyncHookHandler,
): void {
  app.get<{ Querystring: AuditQuerystring }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'Read or export the audit trail (json, ndjson, csv): filtered, newest first, paged by seq',
        description:
          'The `next` cursor of a JSON answer (the `x-sg-audit-next` header of an export) is the `before` of the next older page. The chain check covers the returned records only.',
        querystring: AuditQuerystring,
        response: { 200: AuditPage, ...errors },
      },
      preValidation: admin,
    },
    async (req, reply) => {
      const q = auditQueryOf(req.query);
      const records = audit.query(q);
      // A full page may have more behind it; a short one is the end.
      const next = records.length === q.limit ? (records.at(-1) as AuditRecord).seq : null;
      const format = req.query.format ?? 'json';
      if (format === 'json')
        return {
          records,
          next,
          chain: { covers: 'returned' as const, ...checkAuditRecords(records, (seq) => audit.hashOf(seq)) },
        };
      reply.header('content-disposition', `attachment; filename="slopeguard-audit.${format}"`);
      if (next !== null) reply.header('x-sg-audit-next', String(next));
      if (format === 'ndjson')
        return reply.type('application/x-ndjson').send(records.map(auditNdjsonLine).join(''));
      return reply
        .type('text/csv; charset=utf-8')
        .send(AUDIT_CSV_HEADER + records.map(auditCsvLine).join(''));
    },
  );

  app.get(
    '/api/v1/audit/verify',
    {
      schema: {
        tags: ['admin'],
        summary: 'Check the whole audit trail: every record and the chain between them',
        description:
          'Walks every record (as slopeguard audit verify does). Deleting the newest records leaves no trace here: the head is not anchored outside the database.',
        response: {
          200: Type.Object({ covers: Type.Literal('all'), count: Type.Integer(), problems: Problems }),
          ...errors,
        },
      },
      preValidation: admin,
    },
    async () => ({ covers: 'all' as const, ...verifyAudit(audit.iterate()) }),
  );
}
