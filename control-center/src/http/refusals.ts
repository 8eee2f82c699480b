import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

const LOG_EVERY_MS = 60_000;
const MAX_KEYS = 1000;

/**
 * Counts every answer of 400 or more in `scope` by route and status, and logs it at most once a
 * minute per route and status with how many were not logged since: hostile or broken clients are
 * visible on /metrics without flooding the log. The log line carries the route pattern, never the
 * query string or body (they may hold a name or a password).
 */
export function countRefusals(
  scope: FastifyInstance,
  o: { name: string; help: string; metrics: Registry; log: Logger; now: () => number; message: string },
): void {
  const refused = new Counter({
    name: o.name,
    help: o.help,
    labelNames: ['route', 'status'],
    registers: [o.metrics],
  });
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  // On send, not on response: counted before the client has the answer (a test, or a client that
  // reads /metrics right after, sees it).
  scope.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode < 400) return payload;
    const route = req.routeOptions.url ?? 'unknown';
    const status = String(reply.statusCode);
    refused.inc({ route, status });
    const key = `${req.method} ${route} ${status}`;
    const now = o.now();
    const l = lastLogged.get(key);
    if (l && now - l.at < LOG_EVERY_MS) {
      l.suppressed++;
      return payload;
    }
    if (lastLogged.size >= MAX_KEYS) lastLogged.clear();
    lastLogged.set(key, { at: now, suppressed: 0 });
    o.log.warn(
      { method: req.method, route, status: reply.statusCode, notLoggedSinceLast: l?.suppressed ?? 0 },
      o.message,
    );
    return payload;
  });
}
