// Brings in @fastify/swagger's route-schema fields (tags, summary) for every route file.
import type {} from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import { ERRORS } from './errors.ts';

/** The one error body of the API (errors.ts): a stable code and a message. */
export const ErrorBody = Type.Object(
  {
    error: Type.Union(Object.keys(ERRORS).map((c) => Type.Literal(c))),
    message: Type.String(),
  },
  { description: 'every error of the API' },
);

export const SiteParam = Type.Object({ site: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) });
export const Ok = Type.Object({ ok: Type.Literal(true) });
