import type { DatabaseSync } from 'node:sqlite';
import type { DataState } from '../site-state.ts';

/**
 * Alerts in the ThingsBoard model: active or cleared, unacknowledged or acknowledged, one per site
 * episode, with every change kept in its history. Narrow on purpose (a server database can
 * implement it); the one-active-per-site rule is a unique index, so a restart finds the open one.
 */
export interface Alert {
  id: number;
  site: string;
  opened: number;
  updated: number;
  cleared: number | null;
  level: number;
  maxLevel: number;
  dataState: DataState;
  acknowledged: number | null;
  ackBy: string | null;
  ackComment: string | null;
}

export interface AlertEvent {
  id: number;
  alertId: number;
  ts: number;
  kind:
    | 'opened'
    | 'level'
    | 'data_state'
    | 'cleared'
    | 'acknowledged'
    | 'comment'
    | 'manual_level'
    | 'release';
  actor: string | null;
  level: number | null;
  dataState: DataState | null;
  text: string | null;
}

export interface ManualLevel {
  site: string;
  level: number;
  actor: string;
  reason: string;
  ts: number;
}

export interface AlertStore {
  active(site: string): Alert | undefined;
  get(id: number): Alert | undefined;
  list(filter: { active?: boolean; site?: string; limit?: number }): Alert[];
  history(id: number): AlertEvent[];
  open(site: string, level: number, dataState: DataState, ts: number): Alert;
  update(id: number, level: number, dataState: DataState, ts: number): Alert;
  clear(id: number, ts: number): Alert;
  acknowledge(id: number, actor: string, comment: string, ts: number): Alert;
  addEvent(e: Omit<AlertEvent, 'id'>): void;
  manual(site: string): ManualLevel | undefined;
  setManual(m: ManualLevel): void;
  clearManual(site: string): void;
}

type Row = {
  id: number;
  site: string;
  opened: number;
  updated: number;
  cleared: number | null;
  level: number;
  max_level: number;
  data_state: DataState;
  acknowledged: number | null;
  ack_by: string | null;
  ack_comment: string | null;
};
const toAlert = (r: Row): Alert => ({
  id: r.id,
  site: r.site,
  opened: r.opened,
  updated: r.updated,
  cleared: r.cleared,
  level: r.level,
  maxLevel: r.max_level,
  dataState: r.data_state,
  acknowledged: r.acknowledged,
  ackBy: r.ack_by,
  ackComment: r.ack_comment,
});

export function sqliteAlertStore(db: DatabaseSync): AlertStore {
  const byId = db.prepare('SELECT * FROM alerts WHERE id = ?');
  const must = (id: number) => toAlert(byId.get(id) as Row);
  const insertEvent = db.prepare(
    'INSERT INTO alert_events (alert_id, ts, kind, actor, level, data_state, text) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const store: AlertStore = {
    active(site) {
      const r = db.prepare('SELECT * FROM alerts WHERE site = ? AND cleared IS NULL').get(site) as
        | Row
        | undefined;
      return r ? toAlert(r) : undefined;
    },
    get(id) {
      const r = byId.get(id) as Row | undefined;
      return r ? toAlert(r) : undefined;
    },
    list({ active, site, limit }) {
      const where: string[] = [];
      const args: Array<string | number> = [];
      if (active === true) where.push('cleared IS NULL');
      if (active === false) where.push('cleared IS NOT NULL');
      if (site) {
        where.push('site = ?');
        args.push(site);
      }
      const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, Math.min(limit ?? 200, 1000)) as Row[]).map(toAlert);
    },
    history(id) {
      return (
        db.prepare('SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id').all(id) as Array<{
          id: number;
          alert_id: number;
          ts: number;
          kind: AlertEvent['kind'];
          actor: string | null;
          level: number | null;
          data_state: DataState | null;
          text: string | null;
        }>
      ).map((r) => ({
        id: r.id,
        alertId: r.alert_id,
        ts: r.ts,
        kind: r.kind,
        actor: r.actor,
        level: r.level,
        dataState: r.data_state,
        text: r.text,
      }));
    },
    open(site, level, dataState, ts) {
      const r = db
        .prepare(
          'INSERT INTO alerts (site, opened, updated, level, max_level, data_state) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
        )
        .get(site, ts, ts, level, level, dataState) as Row;
      insertEvent.run(r.id, ts, 'opened', null, level, dataState, null);
      return toAlert(r);
    },
    update(id, level, dataState, ts) {
      const before = must(id);
      db.prepare(
        'UPDATE alerts SET level = ?, max_level = max(max_level, ?), data_state = ?, updated = ? WHERE id = ?',
      ).run(level, level, dataState, ts, id);
      if (before.level !== level) insertEvent.run(id, ts, 'level', null, level, dataState, null);
      if (before.dataState !== dataState) insertEvent.run(id, ts, 'data_state', null, level, dataState, null);
      return must(id);
    },
    clear(id, ts) {
      db.prepare('UPDATE alerts SET cleared = ?, updated = ? WHERE id = ?').run(ts, ts, id);
      const a = must(id);
      insertEvent.run(id, ts, 'cleared', null, a.level, a.dataState, null);
      return a;
    },
    acknowledge(id, actor, comment, ts) {
      db.prepare(
        'UPDATE alerts SET acknowledged = ?, ack_by = ?, ack_comment = ?, updated = ? WHERE id = ?',
      ).run(ts, actor, comment, ts, id);
      insertEvent.run(id, ts, 'acknowledged', actor, null, null, comment);
      return must(id);
    },
    addEvent(e) {
      insertEvent.run(e.alertId, e.ts, e.kind, e.actor, e.level, e.dataState, e.text);
    },
    manual(site) {
      return db.prepare('SELECT * FROM manual_levels WHERE site = ?').get(site) as ManualLevel | undefined;
    },
    setManual(m) {
      db.prepare(
        'INSERT INTO manual_levels (site, level, actor, reason, ts) VALUES (?, ?, ?, ?, ?) ON CONFLICT(site) DO UPDATE SET level = excluded.level, actor = excluded.actor, reason = excluded.reason, ts = excluded.ts',
      ).run(m.site, m.level, m.actor, m.reason, m.ts);
    },
    clearManual(site) {
      db.prepare('DELETE FROM manual_levels WHERE site = ?').run(site);
    },
  };
  return store;
}
