import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { EngineState } from '@slopeguard/core/engine/index.ts';

/**
 * Where the control center keeps each site's engine state, so that a restart resumes hold-down
 * timers and never drops a level it had raised (leaving level 4 needs an operator, not a reboot).
 */
export interface EngineStateStore {
  /**
   * The saved state as stored, unchecked: `createEngine` checks it against core's versioned schema
   * (and migrates an older version) and refuses a bad one with SG_ENGINE_STATE, so nothing here
   * pretends a parsed row is an EngineState.
   */
  load(site: string): unknown;
  save(site: string, state: EngineState): void;
  close(): void;
}

export function openEngineStateStore(path: string): EngineStateStore {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS engine_state (site TEXT PRIMARY KEY, state TEXT NOT NULL, updated INTEGER NOT NULL);`);
  const get = db.prepare('SELECT state FROM engine_state WHERE site = ?');
  const put = db.prepare(
    'INSERT INTO engine_state (site, state, updated) VALUES (?, ?, ?) ON CONFLICT(site) DO UPDATE SET state = excluded.state, updated = excluded.updated',
  );
  return {
    load(site) {
      const row = get.get(site) as { state: string } | undefined;
      return row ? parseSaved(row.state) : undefined;
    },
    save(site, state) {
      put.run(site, JSON.stringify(state), Date.now());
    },
    close() {
      db.close();
    },
  };
}

/** For tests and for a control center that is told not to persist: state lives in memory. */
export function memoryEngineStateStore(): EngineStateStore {
  const m = new Map<string, string>();
  return {
    load: (site) => {
      const s = m.get(site);
      return s === undefined ? undefined : parseSaved(s);
    },
    save: (site, state) => {
      m.set(site, JSON.stringify(state));
    },
    close: () => undefined,
  };
}

/** A row that is not even JSON reads as an object the engine's check refuses with its own code. */
function parseSaved(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { v: 'unreadable' };
  }
}
