import type { DatabaseSync } from 'node:sqlite';

/**
 * A site's level history as open data: every change of an alert's level or data state (opened,
 * level, data_state, cleared, manual_level, release) from the alert history (alerts/alert-store.ts).
 * Between alerts the site was at level 0 with data. Who acted and what they wrote (acknowledgement
 * comments, reasons) are left out: they are operators' words and names, not open data.
 */
export interface LevelChange {
  ts: number;
  alert: number;
  event: string;
  level: number | null;
  dataState: string | null;
}

export const LEVEL_EVENTS = ['opened', 'level', 'data_state', 'cleared', 'manual_level', 'release'] as const;

const PAGE = 500;

/**
 * Pages of at most 500 changes in [from, to] (inclusive), oldest first, read one page at a time by
 * id (keyset) so a long export never holds a statement open across writes or the whole history in
 * memory.
 */
export function* levelHistory(
  db: DatabaseSync,
  site: string,
  from: number,
  to: number,
): Generator<LevelChange[]> {
  const page = db.prepare(
    `SELECT e.id AS id, e.ts AS ts, e.alert_id AS alert, e.kind AS event, e.level AS level,
            e.data_state AS dataState
     FROM alert_events e JOIN alerts a ON a.id = e.alert_id
     WHERE a.site = ? AND e.ts BETWEEN ? AND ? AND e.id > ?
       AND e.kind IN (${LEVEL_EVENTS.map(() => '?').join(', ')})
     ORDER BY e.id LIMIT ${PAGE}`,
  );
  let after = 0;
  for (;;) {
    const rows = page.all(site, from, to, after, ...LEVEL_EVENTS) as unknown as Array<
      LevelChange & { id: number }
    >;
    if (rows.length === 0) return;
    after = (rows[rows.length - 1] as { id: number }).id;
    yield rows.map(({ id: _id, ...r }) => r);
    if (rows.length < PAGE) return;
  }
}
