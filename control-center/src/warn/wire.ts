import type { DatabaseSync } from 'node:sqlite';
import { CHANNEL_OPTIONS, siteTopic } from '@slopeguard/core';
import type { FastifyInstance } from 'fastify';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuthContext } from '../http/auth.ts';
import { parseNotifyConfig, type ResolvedNotify } from '../notify/config.ts';
import type { Notifier } from '../notify/service.ts';
import type { Area } from './area.ts';
import type { ResolvedWarn } from './config.ts';
import { registerWarnRoutes } from './routes.ts';
import { WarnService } from './service.ts';

/**
 * How the control center plugs the residents' warnings in (server.ts calls these four, in order):
 * `createWarnings` before the notifier (its channels join the outbox), `registerWarnings` before
 * the server listens, `startWarnings` once the MQTT client is up, and the service's `observe` and
 * `tick` from the control center's own level and data-state path.
 */
/**
 * Deliveries in flight at once when residents are warned: a fan-out to 10,000 push subscribers
 * waits on the push services' round trips, not on this process, so it needs many at a time.
 */
export const WARN_OUTBOX_CONCURRENCY = 64;

export interface WarnOptions {
  config: ResolvedWarn;
  /** Site id -> its area (from the site files; demo sites get a circle around their position). */
  areas: ReadonlyMap<string, Area>;
}

export function createWarnings(o: {
  options: WarnOptions | undefined;
  db: DatabaseSync;
  notify: ResolvedNotify | undefined;
  logger: Logger;
  now: () => number;
  ownUrl: () => string;
}): WarnService | undefined {
  if (!o.options) return undefined;
  return new WarnService({
    db: o.db,
    config: o.options.config,
    notify: o.notify,
    areas: o.options.areas,
    logger: o.logger,
    now: o.now,
    ownUrl: o.ownUrl,
  });
}

/** The notify section the outbox runs on when only `warn:` is configured: no officials' chains. */
export function notifyForWarnings(notify: ResolvedNotify | undefined): ResolvedNotify {
  if (notify) return notify;
  const r = parseNotifyConfig({});
  if (!r.ok) throw new Error(`empty notify config: ${r.errors.join('; ')}`);
  return r.value;
}

export async function registerWarnings(
  app: FastifyInstance,
  warn: WarnService | undefined,
  deps: {
    notifier: () => Notifier | undefined;
    auth: AuthContext;
    metrics: Registry;
    logger: Logger;
    now: () => number;
  },
): Promise<void> {
  if (!warn) return;
  await registerWarnRoutes(app, {
    warn,
    outbox: () => deps.notifier()?.outbox,
    auth: deps.auth,
    metrics: deps.metrics,
    logger: deps.logger,
    now: deps.now,
  });
}

/** Starts issuing: the outbox to queue on, and the retained notice topic on the control center's client. */
export function startWarnings(
  warn: WarnService | undefined,
  notifier: Notifier | undefined,
  client: MqttClient,
): void {
  if (!warn || !notifier) return;
  warn.start(notifier.outbox, (site, payload, done) => {
    client.publish(siteTopic(site, 'notice'), payload as Buffer, CHANNEL_OPTIONS.notice, (err) =>
      done(err ?? undefined),
    );
  });
}
