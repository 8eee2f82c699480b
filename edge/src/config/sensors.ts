import type { KnownSensor } from '../rules/index.ts';

/**
 * The sensors the drivers of a config name, with their kind and sampling interval: what the rule
 * engine needs to know about them. Defensive, because it also runs on configs that failed the schema
 * (to report rule errors in the same pass).
 */
export function configuredSensors(drivers: unknown): KnownSensor[] {
  if (!Array.isArray(drivers)) return [];
  const out: KnownSensor[] = [];
  for (const d of drivers as { intervalMs?: unknown; sensors?: unknown }[]) {
    if (typeof d !== 'object' || d === null || !Array.isArray(d.sensors)) continue;
    for (const s of d.sensors as { id?: unknown; kind?: unknown; intervalMs?: unknown }[]) {
      if (typeof s?.id !== 'string' || typeof s.kind !== 'string') continue;
      const interval =
        typeof s.intervalMs === 'number'
          ? s.intervalMs
          : typeof d.intervalMs === 'number'
            ? d.intervalMs
            : undefined;
      out.push({
        id: s.id,
        kind: s.kind,
        ...(interval !== undefined && interval >= 100 ? { intervalMs: interval } : {}),
      });
    }
  }
  return out;
}
