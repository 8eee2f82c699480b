import type { DriverConfig } from '@slopeguard/firmware-bridge/config.ts';
import type { Driver } from '@slopeguard/firmware-bridge/driver.ts';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { DriverEntry } from '../config/schema.ts';
import { createSyntheticDriver } from './synthetic.ts';

export type { Driver, DriverHealth } from '@slopeguard/firmware-bridge/driver.ts';

export class DriverError extends Error {
  readonly code = 'SG_ERR_EDGE_DRIVER';
}

interface BridgeModule {
  createDriver?: (config: DriverConfig, ctx: { logger: Logger; now: () => number }) => Driver;
}

/** Builds the driver a config entry names: `synthetic` is edge's own, the serial ones are firmware-bridge's. */
export async function createDriverFor(entry: DriverEntry, clock: Clock, logger: Logger): Promise<Driver> {
  if (entry.driver === 'synthetic') return createSyntheticDriver(entry, clock);
  const bridge = (await import('@slopeguard/firmware-bridge')) as unknown as BridgeModule;
  if (typeof bridge.createDriver !== 'function') {
    throw new DriverError(`driver ${entry.driver} is not available (firmware-bridge has no createDriver)`);
  }
  return bridge.createDriver(entry, { logger, now: () => clock.now() });
}

/** The configured sampling interval of a driver entry (shortest of its sensors), for the fast-sampling switch. */
export function normalIntervalMs(entry: DriverEntry): number {
  const own = (entry as { intervalMs?: number }).intervalMs;
  const sensors = entry.sensors.map((s) => (s as { intervalMs?: number }).intervalMs ?? own ?? 60_000);
  return Math.min(...sensors);
}
