import type { FastifyReply } from 'fastify';

/**
 * Every error the control center's HTTP API answers, in one registry: a code is never reused or
 * renamed (clients and dashboards match on it). The body is always `{ error, message }`, never a
 * stack trace.
 */
export const ERRORS = {
  SG_ERR_BAD_REQUEST: { status: 400, message: 'the request does not match the route schema' },
  SG_ERR_UNAUTHENTICATED: { status: 401, message: 'sign in first' },
  SG_ERR_FORBIDDEN: { status: 403, message: 'your role does not allow this' },
  SG_ERR_CSRF: { status: 403, message: 'missing or wrong CSRF token (x-csrf-token header)' },
  SG_ERR_HOST: { status: 403, message: 'this Host is not served here' },
  SG_ERR_ORIGIN: { status: 403, message: 'cross-origin request refused' },
  SG_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  SG_ERR_NO_SITE: { status: 404, message: 'no such site' },
  SG_ERR_NO_ALERT: { status: 404, message: 'no such alert' },
  SG_ERR_NO_USER: { status: 404, message: 'no such user' },
  SG_ERR_NO_GATEWAY: { status: 404, message: 'no such gateway' },
  SG_ERR_NO_SENSOR: { status: 404, message: 'no such sensor at this site' },
  SG_ERR_BAD_TIME: { status: 400, message: 'a time must be ISO 8601 with a zone, or epoch ms' },
  SG_ERR_RANGE_ORDER: { status: 400, message: 'from is after to' },
  SG_ERR_RANGE_TOO_LONG: { status: 400, message: 'a time range may span at most 400 days' },
  SG_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the reading store did not answer; try again' },
  SG_ERR_CONFLICT: { status: 409, message: 'the request conflicts with the current state' },
  SG_ERR_LEVEL_BELOW_ENGINE: { status: 409, message: 'a level below the engine level is refused' },
  SG_ERR_RELEASE_REFUSED: { status: 409, message: 'level 4 cannot be released now' },
  SG_ERR_SIGNIN: { status: 401, message: 'wrong username or password' },
  SG_ERR_RATE_LIMITED: { status: 429, message: 'too many attempts; wait and try again' },
  SG_ERR_TOO_LARGE: { status: 413, message: 'request body too large' },
  SG_ERR_UNAVAILABLE: { status: 503, message: 'not ready' },
  SG_ERR_INTERNAL: { status: 500, message: 'internal error (logged)' },
  SG_ERR_BACKTEST_TOO_LONG: { status: 400, message: 'a backtest may span at most 31 days' },
  SG_ERR_BACKTEST_TOO_MANY: {
    status: 400,
    message: 'too many readings for one backtest; choose a shorter period',
  },
  SG_ERR_AUDIT_ACTION: { status: 400, message: 'no such audit action or family' },
  SG_ERR_BACKTEST_RULES: { status: 400, message: 'the changed thresholds make an invalid site file' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

export function sendError(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  const e = ERRORS[code];
  return reply.code(e.status).send({ error: code, message: message ?? e.message } satisfies ErrorBody);
}

/** Thrown inside a handler to answer with a coded error (the error handler turns it into the body). */
export class ApiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message);
    this.code = code;
  }
}
