import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Output, OutputState } from './types.ts';

export interface GpioConfig {
  id: string;
  atLevel: number;
  chip: string;
  line: number;
  activeLow: boolean;
  gpiodVersion: 1 | 2;
  gpiosetPath: string;
}

const RESPAWN_MS = 5000;

/**
 * A GPIO line through the Linux GPIO character device, driven by `gpioset` (Debian package gpiod).
 * The chardev releases a line when its holder exits, so one `gpioset` process holds the line for as long
 * as its value should stay; a change kills it and starts one with the new value. A holder that dies on
 * its own (chip busy, line taken) is restarted, so a transient fault cannot leave a siren silent.
 *
 * libgpiod 1.x (Raspberry Pi OS bookworm) and 2.x (trixie) take different arguments; `gpiodVersion`
 * picks the form (`gpioset --version` tells which is installed).
 */
export function gpiosetArgs(cfg: GpioConfig, on: boolean): string[] {
  const value = `${cfg.line}=${on ? 1 : 0}`;
  const low = cfg.activeLow ? ['--active-low'] : [];
  if (cfg.gpiodVersion === 1) return ['--mode=signal', ...low, cfg.chip, value];
  return ['--chip', cfg.chip, ...low, value];
}

export function createGpioOutput(cfg: GpioConfig, clock: Clock, log: Logger): Output {
  const st: OutputState = { on: false, kind: 'gpio', since: clock.now() };
  let holder: ChildProcess | undefined;
  let respawn: NodeJS.Timeout | undefined;
  let closed = false;

  function hold(): void {
    if (respawn) clearTimeout(respawn);
    respawn = undefined;
    const previous = holder;
    holder = undefined;
    previous?.removeAllListeners('exit');
    previous?.kill('SIGTERM');
    if (closed) return;
    const child = spawn(cfg.gpiosetPath, gpiosetArgs(cfg, st.on), { stdio: ['ignore', 'ignore', 'pipe'] });
    holder = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    child.on('error', (err) => {
      st.lastError = err.message;
    });
    child.on('exit', (code, signal) => {
      if (holder !== child || closed) return;
      holder = undefined;
      st.lastError = `gpioset exited (${code ?? signal}): ${stderr.trim()}`;
      log.error({ output: cfg.id, code, signal, stderr: stderr.trim() }, 'gpioset holder exited; restarting');
      respawn = setTimeout(hold, RESPAWN_MS);
    });
  }

  hold();
  return {
    id: cfg.id,
    atLevel: cfg.atLevel,
    set(on, reason) {
      if (on === st.on && holder) return;
      st.on = on;
      st.since = clock.now();
      log.info({ output: cfg.id, on, reason }, 'output switched');
      hold();
    },
    state: () => ({ ...st }),
    async close() {
      closed = true;
      if (respawn) clearTimeout(respawn);
      holder?.removeAllListeners('exit');
      holder?.kill('SIGTERM');
    },
  };
}
