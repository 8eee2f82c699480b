import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import { buildChannels, type ResolvedNotify } from './config.ts';
import { type AlertSource, Escalation } from './escalation.ts';
import { Outbox } from './outbox.ts';
import type { AuditSink, Channel } from './types.ts';

/**
 * The notification subsystem assembled from a resolved `notify:` section: channels, outbox and
 * escalation on one database. The control center calls `start()` once its migrations have run and
 * `close()` on shutdown (in-flight attempts finish; queued ones wait for the next start).
 */
export interface NotifierOptions {
  db: DatabaseSync;
  config: ResolvedNotify;
  audit: AuditSink;
  clock?: Clock;
  log?: Logger;
  /** Extra channel plugins beside the configured ones (the residents' channels). */
  channels?: readonly Channel[];
  /** Deliveries in flight at once (the outbox's default is 8; residents' fan-outs need more). */
  concurrency?: number;
}

export interface Notifier {
  readonly outbox: Outbox;
  readonly escalation: Escalation;
  start(source?: AlertSource): void;
  close(): Promise<void>;
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const clock = opts.clock ?? systemClock;
  const channels = [...buildChannels(opts.config.channels, clock), ...(opts.channels ?? [])];
  const outbox = new Outbox({
    db: opts.db,
    channels,
    clock,
    audit: opts.audit,
    log: opts.log,
    retry: opts.config.retry,
    concurrency: opts.concurrency,
  });
  const escalation = new Escalation({
    db: opts.db,
    outbox,
    policy: opts.config.policy,
    clock,
    log: opts.log,
  });
  let unsubscribe: (() => void) | undefined;
  return {
    outbox,
    escalation,
    start(source) {
      outbox.start();
      escalation.start();
      if (source) unsubscribe = escalation.attach(source);
    },
    async close() {
      unsubscribe?.();
      escalation.stop();
      await outbox.stop();
      await Promise.all(channels.map((c) => c.close?.()));
    },
  };
}
