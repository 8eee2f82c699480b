import type { Level, LevelReason } from '@slopeguard/core';
import type { Alert } from '../alerts/alert-store.ts';
import type { AlertSource } from './escalation.ts';
import { type AlertUpdate, reasonText } from './message.ts';

/**
 * The control center's alerts as the escalation's input: every change of an alert (opened, level,
 * data state, acknowledged, cleared) becomes one AlertUpdate. A listener that throws is isolated:
 * the alert has been stored already, and the next update carries the whole state again.
 */
export interface AlertUpdates {
  readonly source: AlertSource;
  publish(alert: Alert): void;
}

export function alertUpdates(reasonsOf: (site: string) => readonly LevelReason[]): AlertUpdates {
  const listeners = new Set<(u: AlertUpdate) => void>();
  return {
    source: {
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    publish(a) {
      if (listeners.size === 0) return;
      const update: AlertUpdate = {
        alertId: String(a.id),
        site: a.site,
        level: Math.max(0, Math.min(4, a.level)) as Level,
        state: a.cleared === null ? 'active' : 'cleared',
        acknowledged: a.acknowledged !== null,
        reasons: reasonsOf(a.site)
          .map(reasonText)
          .filter((t) => t.length > 0),
        at: a.updated,
      };
      for (const l of listeners) {
        try {
          l(update);
        } catch {
          // The escalation logs its own failures; one listener must not stop the others.
        }
      }
    },
  };
}
