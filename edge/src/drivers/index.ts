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

/**
 * Builds the driver a config entry names: `synthetic`, `scenario` and `mqtt` are edge's own, the
 * serial ones are firmware-bridge's.
 */
export async function createDriverFor(entry: DriverEntry, clock: Clock, logger: Logger): Promise<Driver> {
  if (entry.driver === 'synthetic') return createSyntheticDriver(entry, clock);
  if (entry.driver === 'scenario') return createScenarioDriver(entry, clock);
  if (entry.driver === 'mqtt') {
    const { MqttDriver } = await import('./mqtt/driver.ts');
    return new MqttDriver(entry, clock, logger);
  }
  // Loaded on first use: a gateway with only synthetic drivers does not load the serial stack.
  const { createDriver } = await import('@slopeguard/firmware-bridge/create-driver.ts');
  return createDriver(entry as DriverConfig, { logger, clock: { now: () => clock.now() } });
}

/** The configured sampling interval of a driver entry (shortest of its sensors), for the fast-sampling switch. */
export function normalIntervalMs(entry: DriverEntry): number {
  const own = (entry as { intervalMs?: number }).intervalMs;
  if (entry.driver === 'scenario') return own ?? 60_000;
  if (entry.driver === 'mqtt') return Math.min(...entry.sensors.map((s) => s.intervalMs ?? entry.intervalMs));
  const sensors = entry.sensors.map((s) => (s as { intervalMs?: number }).intervalMs ?? own ?? 60_000);
  return Math.min(...sensors);
}
