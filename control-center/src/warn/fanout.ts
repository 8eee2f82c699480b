import type { DatabaseSync } from 'node:sqlite';
import type { Level } from '@slopeguard/core';
import type { Outbox } from '../notify/outbox.ts';
import type { NotifyMessage } from '../notify/types.ts';
import type { MessageKind } from './area.ts';
import type { Lang, RenderedWarning } from './messages.ts';
import type { PushPayload } from './push-channel.ts';
import type { PushSubscriptions } from './push-store.ts';

/**
 * One warning (a level change of an area, or its all-clear) as the fan-outs need it. `round`
 * makes it distinct from other notices of the same alert in the outbox's de-duplication key
 * (e.g. "cap-3" for the third CAP message of the episode), so a restart that fans out again
 * queues nothing twice.
 */
export interface WarningNotice {
  area: string;
  alertId: string;
  level: Level;
  kind: MessageKind;
  round: string;
  exercise: boolean;
  rendered: RenderedWarning;
  pageUrl?: string;
}

export function pushMessage(n: WarningNotice, lang: Lang): NotifyMessage {
  const f = n.rendered[lang];
  const push: PushPayload = {
    title: f.subject,
    body: f.long,
    url: n.pageUrl,
    tag: `slopeguard-${n.area}`,
    level: n.level,
    exercise: n.exercise,
  };
  return { subject: f.subject, text: f.long, data: { area: n.area, push: { ...push } } };
}

/**
 * Queues the notice for every push subscriber of the area, in one transaction (a savepoint, so it
 * nests in the caller's). The outbox rows name subscriptions by id only. Returns how many rows were
 * new.
 */
export function enqueuePush(
  outbox: Outbox,
  store: PushSubscriptions,
  channel: string,
  n: WarningNotice,
): number {
  const messages = { ko: pushMessage(n, 'ko'), en: pushMessage(n, 'en') };
  return enqueueForSubscribers(outbox, store.db, store.recipients(n.area), 'push', channel, n, messages);
}

/**
 * Queues one notice per subscriber in the subscriber's language, in one savepoint; the outbox
 * rows name subscribers by `${kind}:${id}` only. Returns how many rows were new (the outbox
 * de-duplicates, so fanning out the same notice again after a restart adds none).
 */
export function enqueueForSubscribers(
  outbox: Outbox,
  db: DatabaseSync,
  recipients: Iterable<{ id: string; lang: Lang }>,
  kind: string,
  channel: string,
  n: WarningNotice,
  messages: Record<Lang, NotifyMessage>,
): number {
  return inSavepoint(db, () => {
    let created = 0;
    for (const r of recipients) {
      const q = outbox.enqueue({
        alertId: n.alertId,
        level: n.level,
        channel,
        recipient: { id: `${kind}:${r.id}`, address: r.id },
        round: n.round,
        message: messages[r.lang],
      });
      if (q.created) created++;
    }
    return created;
  });
}

export function inSavepoint<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('SAVEPOINT warn_fanout');
  try {
    const v = fn();
    db.exec('RELEASE warn_fanout');
    return v;
  } catch (err) {
    db.exec('ROLLBACK TO warn_fanout');
    db.exec('RELEASE warn_fanout');
    throw err;
  }
}
