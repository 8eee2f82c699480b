import { appendFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Output, OutputState } from './types.ts';

/**
 * Stands in for a siren or light where there is no hardware (tests, demos). Each change is appended to
 * `file` as a JSON line, so that a test driving a separate gateway process can see it.
 */
export function createSimulatedOutput(
  cfg: { id: string; atLevel: number; file?: string },
  clock: Clock,
  log: Logger,
): Output {
  const st: OutputState = { on: false, kind: 'simulated', since: clock.now() };
  return {
    id: cfg.id,
    atLevel: cfg.atLevel,
    set(on, reason) {
      if (on === st.on) return;
      st.on = on;
      st.since = clock.now();
      log.info({ output: cfg.id, on, reason }, 'output switched');
      if (!cfg.file) return;
      try {
        appendFileSync(cfg.file, `${JSON.stringify({ id: cfg.id, on, ts: st.since, reason })}\n`);
      } catch (err) {
        st.lastError = (err as Error).message;
      }
    },
    state: () => ({ ...st }),
    close: async () => {},
  };
}
