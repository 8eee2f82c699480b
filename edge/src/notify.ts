import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * systemd notification without a native module: `systemd-notify` (part of systemd) sends READY=1 and
 * WATCHDOG=1 for us; the unit sets NotifyAccess=all because the sender is a child process. The
 * watchdog is fed only while `alive()` says the main loop is making progress, so a wedged gateway is
 * restarted by systemd rather than left silent. Pings go 4x per WatchdogSec so one lost ping (a known
 * systemd-notify race on older systemd) cannot trigger a restart.
 */
export function startSystemdNotify(
  alive: () => boolean,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): () => void {
  if (!env.NOTIFY_SOCKET) return () => {};
  const send = (state: string) =>
    execFile('systemd-notify', [state], { env }, (err) => {
      if (err) log.warn({ err: err.message, state }, 'systemd-notify failed');
    });
  send('--ready');
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return () => {};
  const every = Math.max(1000, Math.floor(usec / 1000 / 4));
  const timer = setInterval(() => {
    if (alive()) send('WATCHDOG=1');
    else log.error('main loop stalled; withholding the watchdog ping');
  }, every);
  return () => clearInterval(timer);
}
