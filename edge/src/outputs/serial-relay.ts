import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Output, OutputState } from './types.ts';

export interface SerialRelayConfig {
  id: string;
  atLevel: number;
  port: string;
  baudRate: number;
  on: string;
  off: string;
}

/** Re-sends the current state this often: a relay board that browned out comes back in the right state. */
const REFRESH_MS = 60_000;

/**
 * A relay on a serial line (USB relay boards take a few fixed bytes for on and off). The port is set
 * up with `stty` (coreutils) and written with plain file I/O, so no native module is needed for it.
 */
export function createSerialRelayOutput(cfg: SerialRelayConfig, clock: Clock, log: Logger): Output {
  const st: OutputState = { on: false, kind: 'serial-relay', since: clock.now() };
  let configured = false;
  const refresh = setInterval(send, REFRESH_MS);
  refresh.unref();

  function send(): void {
    const bytes = Buffer.from(st.on ? cfg.on : cfg.off, 'hex');
    const doWrite = () => {
      try {
        const fd = openSync(cfg.port, 'w');
        try {
          writeSync(fd, bytes);
        } finally {
          closeSync(fd);
        }
        delete st.lastError;
      } catch (err) {
        st.lastError = (err as Error).message;
        log.error({ output: cfg.id, err: st.lastError }, 'relay write failed');
      }
    };
    if (configured) {
      doWrite();
      return;
    }
    execFile('stty', ['-F', cfg.port, String(cfg.baudRate), 'raw', '-echo'], (err) => {
      if (err) {
        st.lastError = `stty: ${err.message}`;
        log.error({ output: cfg.id, err: st.lastError }, 'cannot configure relay port');
      } else configured = true;
      doWrite();
    });
  }

  send();
  return {
    id: cfg.id,
    atLevel: cfg.atLevel,
    set(on, reason) {
      if (on === st.on) return;
      st.on = on;
      st.since = clock.now();
      log.info({ output: cfg.id, on, reason }, 'output switched');
      send();
    },
    state: () => ({ ...st }),
    async close() {
      clearInterval(refresh);
    },
  };
}
