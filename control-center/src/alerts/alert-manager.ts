import type { DataState } from '../site-state.ts';
import type { Alert, AlertStore } from './alert-store.ts';

/**
 * Opens, updates and clears each site's alert from its official level and data state:
 * - opens when the level rises above 0 or the site goes no_data (one alert per episode);
 * - updates on every change of either, each change kept in the alert's history;
 * - clears when the level is back to 0 (the engine steps down only after its hold-down) and the
 *   site has data again.
 * Called with the full current state each time, so it is idempotent: after a restart the same
 * state finds the same active alert instead of opening a second one.
 */
export class AlertManager {
  readonly #store: AlertStore;
  readonly #onChange: (a: Alert) => void;

  constructor(store: AlertStore, onChange: (a: Alert) => void) {
    this.#store = store;
    this.#onChange = onChange;
  }

  observe(site: string, level: number, dataState: DataState, ts: number): Alert | undefined {
    const active = this.#store.active(site);
    const alarming = level > 0 || dataState === 'no_data';
    if (!active) {
      if (!alarming) return undefined;
      const a = this.#store.open(site, level, dataState, ts);
      this.#onChange(a);
      return a;
    }
    if (active.level === level && active.dataState === dataState) return active;
    let a = this.#store.update(active.id, level, dataState, ts);
    if (!alarming) a = this.#store.clear(active.id, ts);
    this.#onChange(a);
    return a;
  }
}
