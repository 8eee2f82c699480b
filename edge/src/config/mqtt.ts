import { existsSync } from 'node:fs';
import { sensorTopic, topicFilterError } from '../drivers/mqtt/config.ts';
import type { DriverEntry } from './schema.ts';

/**
 * What the schema cannot say about an `mqtt` driver: topic filters that MQTT would refuse, a TLS CA
 * for a plain URL, a password file that is not there (found now rather than at the first connect).
 */
export function checkMqttDrivers(drivers: readonly DriverEntry[]): string[] {
  const errors: string[] = [];
  drivers.forEach((d, i) => {
    if (d.driver !== 'mqtt') return;
    if (d.caFile && !d.url.startsWith('mqtts://'))
      errors.push(`/drivers/${i}/caFile: only used with mqtts:// URLs`);
    if (d.passwordFile && !d.password && !existsSync(d.passwordFile))
      errors.push(`/drivers/${i}/passwordFile: ${d.passwordFile} does not exist`);
    d.sensors.forEach((s, j) => {
      const e = topicFilterError(sensorTopic(d, s));
      if (e) errors.push(`/drivers/${i}/sensors/${j}/topic: ${e}`);
      if (s.ts && !s.fields)
        errors.push(`/drivers/${i}/sensors/${j}/ts: only with fields (the native format carries its own ts)`);
    });
  });
  return errors;
}
