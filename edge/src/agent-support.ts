import { chmodSync, mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config/schema.ts';
import type { Driver, DriverHealth } from './drivers/index.ts';
import type { SignboardConfig } from './outputs/signboard.ts';
import { ReadingQueue } from './queue/queue.ts';

/** Small helpers of the agent (agent.ts), kept apart so that file stays about wiring. */

/**
 * The durable queue, or, when its file cannot be opened (card full, read-only, corrupt), a queue in
 * memory: readings are then lost on restart, but the gateway keeps measuring, forwarding and, above
 * all, driving its sirens. The status says `queue.durable: false` and the log says why.
 */
export function openQueue(config: GatewayConfig, log: Logger): ReadingQueue {
  const q = config.queue;
  const options = {
    path: q.path ?? `${config.dataDir}/queue.db`,
    synchronous: q.synchronous,
    maxReadings: q.maxReadings,
    minFreeMb: q.minFreeMb,
    policy: q.policy,
  };
  privateDir(config.dataDir, log);
  try {
    return new ReadingQueue(options);
  } catch (err) {
    log.fatal(
      { path: options.path, err: (err as Error).message },
      'queue file unusable; running with a queue in memory',
    );
    return new ReadingQueue({
      ...options,
      path: ':memory:',
      maxReadings: Math.min(q.maxReadings, 200_000),
      minFreeMb: 0,
    });
  }
}

/**
 * The data directory holds the queue (every reading, the engine state): 0700, the gateway's user only.
 * An existing directory is tightened too (a package or an older version may have made it 0755).
 */
export function privateDir(dir: string, log: Logger): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (err) {
    log.warn({ dataDir: dir, err: (err as Error).message }, 'cannot make the data directory private');
  }
}

export function safeHealth(d: Driver): DriverHealth {
  try {
    return d.health();
  } catch (err) {
    return { state: 'down', errors: { health: 1 }, readings: 0, lastError: (err as Error).message };
  }
}

/**
 * A driver's health with the readings the gateway refused as too far ahead of its clock added as the
 * error counter `future`, in total and per sensor: where an operator already looks for a sensor's
 * trouble, and inside the closed status schema.
 */
export function withFutureCounts(
  h: DriverHealth,
  bySensor: Record<string, number> | undefined,
): DriverHealth {
  if (!bySensor) return h;
  let total = 0;
  for (const [sensor, n] of Object.entries(bySensor)) {
    total += n;
    const s = h.sensors?.[sensor];
    if (s) s.errors.future = (s.errors.future ?? 0) + n;
  }
  h.errors.future = (h.errors.future ?? 0) + total;
  return h;
}

/** The signboards of `config`, each with its sites (the gateway's own site when it names none). */
export function signboardConfigs(config: GatewayConfig): SignboardConfig[] {
  return config.outputs.flatMap((o) =>
    o.kind === 'signboard' ? [{ ...o, sites: o.sites ?? [config.site] }] : [],
  );
}

/** The sites whose notice topic the gateway subscribes to: those its signboards show. */
export function noticeSites(config: GatewayConfig): string[] {
  return [...new Set(signboardConfigs(config).flatMap((s) => s.sites))].sort();
}

export function changed(a: GatewayConfig, b: GatewayConfig, key: keyof GatewayConfig): boolean {
  return JSON.stringify(a[key]) !== JSON.stringify(b[key]);
}

export function commandId(payload: Buffer): string | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    return typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 64 ? v.id : undefined;
  } catch {
    return undefined;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
