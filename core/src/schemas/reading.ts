import { type Static, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.ts';

/**
 * Units inside the system (one unit per quantity, converted once at the edge):
 * tilt degrees, rain millimetres since the sensor's previous reading, displacement cumulative
 * millimetres, pore pressure kPa, soil moisture volumetric water content in percent.
 */
export const SENSOR_KINDS = ['tilt', 'rain', 'displacement', 'pore_pressure', 'soil_moisture'] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

/** Value fields each kind must carry. A reading may add others (temp_c, supply_v, ...). */
export const KIND_FIELDS: Readonly<Record<SensorKind, readonly string[]>> = {
  tilt: ['x', 'y'],
  rain: ['mm'],
  displacement: ['mm'],
  pore_pressure: ['kpa'],
  soil_moisture: ['vwc'],
};

export const Id = Type.String({ pattern: ID_PATTERN, description: 'site, gateway or sensor id' });
/**
 * Up to 2262-04-11: the largest time InfluxDB can store (int64 nanoseconds). A reading past it
 * could be acknowledged but never stored, so it is refused at the boundary instead. Receivers also
 * refuse times too far ahead of their own clock (see clock.ts).
 */
export const EpochMs = Type.Integer({ minimum: 0, maximum: 9_223_372_036_854, description: 'epoch ms' });
export const Quality = Type.Union([Type.Literal('ok'), Type.Literal('suspect'), Type.Literal('bad')]);
export type Quality = Static<typeof Quality>;

export const SensorKindSchema = Type.Union(SENSOR_KINDS.map((k) => Type.Literal(k)));

export const VALUE_KEY_PATTERN = '^[a-z][a-z0-9_]{0,31}$';

export const Reading = Type.Object(
  {
    sensor: Id,
    kind: SensorKindSchema,
    ts: EpochMs,
    // Closed: a key outside the pattern is an error, not a free-form field (a nested value in an
    // unchecked key once passed validation and then broke every store's serialiser).
    values: Type.Record(Type.String({ pattern: VALUE_KEY_PATTERN }), Type.Number(), {
      minProperties: 1,
      maxProperties: 16,
      additionalProperties: false,
      description: '1-16 finite numbers keyed by ^[a-z][a-z0-9_]{0,31}$',
    }),
    q: Type.Optional(Quality),
  },
  { additionalProperties: false },
);
export type Reading = Static<typeof Reading>;

/** Checks the kind-specific fields that a JSON schema union would report badly. */
export function missingKindFields(r: Reading): string[] {
  const missing: string[] = [];
  for (const f of KIND_FIELDS[r.kind]) {
    const v = r.values[f];
    if (typeof v !== 'number' || !Number.isFinite(v)) missing.push(f);
  }
  return missing;
}
