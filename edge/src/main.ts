import { createLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import { EdgeAgent } from './agent.ts';
import { type Clock, scaledClock, systemClock } from './clock.ts';
import { loadConfigFile } from './config/load.ts';
import { startSystemdNotify } from './notify.ts';
import { VERSION } from './version.ts';

export interface RunOptions {
  configPath: string;
  /** Only check the config and exit. */
  check?: boolean;
  logLevel?: string;
  /** TEST/BENCH ONLY: simulated time, see clock.ts. */
  timeScale?: number;
  timeStart?: number;
  timeAnchor?: number;
  /** Where errors for a human go (stderr in the CLI). */
  out: { error(text: string): void; info(text: string): void };
}

/** Exit code for a refused config (EX_CONFIG in sysexits.h). */
export const EXIT_CONFIG = 78;

/** `slopeguard edge`: load the config, run the agent until SIGTERM/SIGINT; SIGHUP reloads the config. */
export async function runEdge(o: RunOptions): Promise<number> {
  const r = loadConfigFile(o.configPath);
  if (!r.ok) {
    o.out.error(
      `slopeguard edge: ${o.configPath} is invalid (${r.errors.length} error${r.errors.length === 1 ? '' : 's'}):`,
    );
    for (const e of r.errors) o.out.error(`  ${e}`);
    return EXIT_CONFIG;
  }
  if (o.check) {
    o.out.info(
      `${o.configPath}: ok (site ${r.config.site}, gateway ${r.config.gateway}, ${r.config.drivers.length} driver(s))`,
    );
    return 0;
  }
  const config = r.config;
  // Synchronous on stdout: log lines are rare (info and up), and the last one before a crash must
  // not be lost.
  const logger: Logger = createLogger({ level: o.logLevel ?? config.log.level, fd: 1, sync: true });
  let clock: Clock = systemClock;
  if (o.timeScale !== undefined && o.timeScale !== 1) {
    const anchor = o.timeAnchor ?? Date.now();
    clock = scaledClock(o.timeScale, o.timeStart ?? anchor, anchor);
    logger.warn({ scale: o.timeScale }, 'SIMULATED TIME: for tests and benchmarks only');
  }
  // A bug that escapes every handler: log it where the journal shows it and exit, so that systemd
  // restarts a clean process (5 s) instead of leaving one in an unknown state.
  const crash = (kind: string) => (err: unknown) => {
    logger.fatal(
      { kind, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
      'crash',
    );
    process.exit(70);
  };
  process.on('uncaughtException', crash('uncaughtException'));
  process.on('unhandledRejection', crash('unhandledRejection'));
  const agent = new EdgeAgent({ config, configPath: o.configPath, clock, logger, version: VERSION });
  await agent.start();
  const stopNotify = startSystemdNotify(() => agent.forwarder.sinceLastPumpMs < 30_000, logger);

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      stopNotify();
      agent.stop().then(
        () => resolve(0),
        (err: Error) => {
          logger.error({ err: err.message }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      agent.reload().catch((err: Error) => logger.error({ err: err.message }, 'reload refused'));
    });
  });
}
