import type { DriverConfig } from '@slopeguard/firmware-bridge/config.ts';
import type { Driver } from '@slopeguard/firmware-bridge/driver.ts';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { DriverEntry } from '../config/schema.ts';
import { createScenarioDriver } from './scenario.ts';
import { createSyntheticDriver } from './synthetic.ts';

export type { Driver, DriverHealth } from '@slopeguard/firmware-bridge/driver.ts';

export class DriverError extends Error {
  readonly code = 'SG_ERR_EDGE_DRIVER';
}

/** Builds the driver a config entry names: `synthetic` is edge's own, the serial ones are firmware-bridge's. */
export async function createDriverFor(entry: DriverEntry, clock: Clock, logger: Logger): Promise<Driver> {
  if (entry.driver === 'synthetic') return createSyntheticDriver(entry, clock);
  if (entry.driver === 'scenario') return createScenarioDriver(entry, clock);
  // Loaded on first use: a gateway with only synthetic drivers does not load the serial stack.
  const { createDriver } = await import('@slopeguard/firmware-bridge/create-driver.ts');
  return createDriver(entry as DriverConfig, { logger, clock: { now: () => clock.now() } });
}

/** The configured sampling interval of a driver entry (shortest of its sensors), for the fast-sampling switch. */
export function normalIntervalMs(entry: DriverEntry): number {
  const own = (entry as { intervalMs?: number }).intervalMs;
  if (entry.driver === 'scenario') return own ?? 60_000;
  const sensors = entry.sensors.map((s) => (s as { intervalMs?: number }).intervalMs ?? own ?? 60_000);
  return Math.min(...sensors);
}
