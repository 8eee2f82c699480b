import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type Decoded, SensorKindSchema, validator } from '@slopeguard/core';

/**
 * The configuration of one driver (one serial port), as edge embeds it in gateway.yaml. One schema
 * gives the static type, the runtime check and the documented defaults; code reads defaults through
 * `serialSettings()` and friends so a config that was not run through `Value.Default` still works.
 */

const SensorId = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
  description: 'sensor id (contract Id)',
});
const FieldMap = (description: string) =>
  Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), Type.Number(), { description });

export const Calibration = Type.Object(
  {
    offset: Type.Optional(FieldMap('zero offset per field, subtracted first')),
    scale: Type.Optional(FieldMap('scale per field, applied after the offset')),
    baseline: Type.Optional(
      FieldMap('installation baseline per field (tilt), subtracted last: readings show change since install'),
    ),
  },
  { additionalProperties: false, description: 'value = (raw - offset) * scale - baseline' },
);
export type Calibration = Static<typeof Calibration>;

export const Range = Type.Record(Type.String(), Type.Tuple([Type.Number(), Type.Number()]), {
  description: 'device measuring range per field [min, max]; outside it the reading is marked suspect',
});

export const Counter = Type.Object(
  {
    mmPerCount: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, default: 0.2, description: 'bucket size, mm per tip' }),
    ),
    wrap: Type.Optional(
      Type.Integer({ minimum: 2, description: 'counter modulus, e.g. 65536 for a 16-bit register' }),
    ),
  },
  { additionalProperties: false },
);
export type Counter = Static<typeof Counter>;

function sensorBase<P extends Record<string, TSchema>>(props: P) {
  return Type.Object(
    {
      id: SensorId,
      kind: SensorKindSchema,
      intervalMs: Type.Optional(
        Type.Integer({ minimum: 50, description: 'poll interval; defaults to the driver interval' }),
      ),
      calibration: Type.Optional(Calibration),
      range: Type.Optional(Range),
      counter: Type.Optional(Counter),
      ...props,
    },
    { additionalProperties: false },
  );
}

const serial = (baudRate: number, dataBits: 7 | 8, parity: 'none' | 'even') => ({
  port: Type.String({ minLength: 1, description: 'serial device path, e.g. /dev/ttyUSB0 or a pty link' }),
  baudRate: Type.Optional(Type.Integer({ minimum: 50, default: baudRate })),
  dataBits: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(8)], { default: dataBits })),
  parity: Type.Optional(
    Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: parity }),
  ),
  stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 })),
  reopenInitialMs: Type.Optional(
    Type.Integer({ minimum: 10, default: 500, description: 'first reopen delay' }),
  ),
  reopenMaxMs: Type.Optional(Type.Integer({ minimum: 10, default: 30_000, description: 'reopen delay cap' })),
});

export const ModbusSensor = sensorBase({
  unit: Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus slave address' }),
  model: Type.String({ minLength: 1, description: 'register map name (firmware-bridge/maps/<model>.yaml)' }),
});
export const Sdi12Sensor = sensorBase({
  address: Type.String({ pattern: '^[0-9A-Za-z]$', description: 'SDI-12 address' }),
  fields: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), {
    minItems: 1,
    maxItems: 20,
    description: 'names of the values in the order the sensor returns them',
  }),
  crc: Type.Optional(Type.Boolean({ default: false, description: 'use aMC! and check the CRC' })),
});
export const LineSensor = sensorBase({
  node: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'node id as sent on the line' }),
  name: Type.Optional(
    Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'sensor name on the line; default id' }),
  ),
});

export const ModbusDriverConfig = Type.Object(
  {
    driver: Type.Literal('modbus-rtu'),
    id: Type.Optional(Type.String({ minLength: 1 })),
    ...serial(9600, 8, 'even'),
    intervalMs: Type.Optional(Type.Integer({ minimum: 50, default: 10_000 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 10, default: 500, description: 'response timeout' })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, default: 2 })),
    mapsDir: Type.Optional(Type.String({ description: 'extra directory of register maps, searched first' })),
    sensors: Type.Array(ModbusSensor, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export const Sdi12DriverConfig = Type.Object(
  {
    driver: Type.Literal('sdi12'),
    id: Type.Optional(Type.String({ minLength: 1 })),
    ...serial(1200, 7, 'even'),
    intervalMs: Type.Optional(Type.Integer({ minimum: 50, default: 60_000 })),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 10, default: 1000, description: 'per-command response timeout' }),
    ),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, default: 3 })),
    concurrent: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'measure the sensors due together with aC! (aCC! with crc): all start, then all are read',
      }),
    ),
    sensors: Type.Array(Sdi12Sensor, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export const LineDriverConfig = Type.Object(
  {
    driver: Type.Literal('line'),
    id: Type.Optional(Type.String({ minLength: 1 })),
    ...serial(115200, 8, 'none'),
    sensors: Type.Array(LineSensor, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const DriverConfig = Type.Union([ModbusDriverConfig, Sdi12DriverConfig, LineDriverConfig], {
  description: 'one serial port and the sensors on it, keyed by `driver`',
});
export type DriverConfig = Static<typeof DriverConfig>;
export type ModbusDriverConfig = Static<typeof ModbusDriverConfig>;
export type Sdi12DriverConfig = Static<typeof Sdi12DriverConfig>;
export type LineDriverConfig = Static<typeof LineDriverConfig>;
export type ModbusSensor = Static<typeof ModbusSensor>;
export type Sdi12Sensor = Static<typeof Sdi12Sensor>;
export type LineSensor = Static<typeof LineSensor>;
export type SensorConfig = ModbusSensor | Sdi12Sensor | LineSensor;

export interface SerialSettings {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  reopenInitialMs: number;
  reopenMaxMs: number;
}

const SERIAL_DEFAULTS: Record<DriverConfig['driver'], Omit<SerialSettings, 'path'>> = {
  'modbus-rtu': {
    baudRate: 9600,
    dataBits: 8,
    parity: 'even',
    stopBits: 1,
    reopenInitialMs: 500,
    reopenMaxMs: 30_000,
  },
  sdi12: {
    baudRate: 1200,
    dataBits: 7,
    parity: 'even',
    stopBits: 1,
    reopenInitialMs: 500,
    reopenMaxMs: 30_000,
  },
  line: {
    baudRate: 115200,
    dataBits: 8,
    parity: 'none',
    stopBits: 1,
    reopenInitialMs: 500,
    reopenMaxMs: 30_000,
  },
};

/** Serial settings with the documented defaults filled in. */
export function serialSettings(c: DriverConfig): SerialSettings {
  const d = SERIAL_DEFAULTS[c.driver];
  return {
    path: c.port,
    baudRate: c.baudRate ?? d.baudRate,
    dataBits: c.dataBits ?? d.dataBits,
    parity: c.parity ?? d.parity,
    stopBits: c.stopBits ?? d.stopBits,
    reopenInitialMs: c.reopenInitialMs ?? d.reopenInitialMs,
    reopenMaxMs: c.reopenMaxMs ?? d.reopenMaxMs,
  };
}

export function driverId(c: DriverConfig): string {
  return c.id ?? `${c.driver}:${c.port}`;
}

const checkConfig = validator(DriverConfig);

/**
 * Checks a driver block from a config file and lists every error (path: message). Edge validates
 * its whole gateway.yaml with the embedded schema; this is for callers that build drivers alone.
 */
export function checkDriverConfig(value: unknown): Decoded<DriverConfig> {
  return checkConfig(value);
}
