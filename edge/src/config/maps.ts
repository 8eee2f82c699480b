import { loadRegisterMapSync, SHIPPED_MAPS_DIR } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import type { DriverEntry } from './schema.ts';

/**
 * Every Modbus sensor's register map must exist and be valid, and produce the sensor's kind: a
 * missing map would otherwise only show at run time as one sensor's `map` error in the health, on a
 * gateway nobody is looking at. The driver searches its `mapsDir` first, then the shipped maps; so
 * does this check.
 */
export function checkRegisterMaps(drivers: readonly DriverEntry[]): string[] {
  const errors: string[] = [];
  drivers.forEach((d, i) => {
    if (d.driver !== 'modbus-rtu') return;
    const dirs = d.mapsDir ? [d.mapsDir, SHIPPED_MAPS_DIR] : [SHIPPED_MAPS_DIR];
    d.sensors.forEach((s, j) => {
      const path = `/drivers/${i}/sensors/${j}/model`;
      try {
        const map = loadRegisterMapSync(s.model, dirs);
        if (map.kind !== s.kind)
          errors.push(`${path}: register map ${s.model} gives ${map.kind} readings, the sensor is ${s.kind}`);
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
      }
    });
  });
  return errors;
}
