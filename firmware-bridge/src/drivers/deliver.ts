import type { Logger } from 'pino';
import type { SensorConverter } from '../convert.ts';
import type { ReadingSink } from '../driver.ts';
import type { HealthTracker } from '../health.ts';

/**
 * The last step of every driver, from a device's values to a contract reading: note the supply
 * voltage, convert (calibration, range, counters), count a value out of range, hand the reading to
 * the sink. A sink that throws is a bug upstream: logged, not counted against the sensor.
 */
export function deliver(
  sensorId: string,
  device: Record<string, number>,
  at: { ts: number; converter: SensorConverter; tracker: HealthTracker; sink: ReadingSink; log: Logger },
): void {
  if (device.supply_v !== undefined) at.tracker.supply(device.supply_v, sensorId);
  const out = at.converter.convert(device, at.ts);
  if (!out.ok) {
    // A tilt sensor's first reading sets its baseline: no reading yet, and nothing wrong.
    if (out.reason !== 'baseline') at.tracker.error('bad_value', out.message, sensorId);
    return;
  }
  at.tracker.reading(sensorId, at.ts);
  try {
    at.sink(out.reading);
  } catch (err) {
    at.log.error({ err }, 'reading sink threw');
  }
}
