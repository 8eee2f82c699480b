import { Type } from '@sinclair/typebox';

/**
 * Shared building blocks of the closed wire schemas. Every string on the wire has a maximum length,
 * every record a key pattern and a maximum number of keys, every array a maximum length: a message
 * that validates is small and shallow by construction, whatever the sender meant.
 */

/** Non-negative safe integer (counters, sizes, sequence numbers). */
export const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** A finite number (JSON's 1e999 parses to Infinity; TypeBox refuses it and NaN). */
export const Finite = Type.Number();

/** Free text for people (errors, notes): bounded, never a structure. */
export const Text = (maxLength = 500) => Type.String({ maxLength });

/** Short machine names: event types, command names, reasons, output kinds. */
export const NAME_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';
export const Name = Type.String({ pattern: NAME_PATTERN });

/**
 * Keys of counters by reason (`{crc: 3, timeout: 1}`) and driver keys such as `modbus:/dev/ttyUSB0`:
 * printable, no spaces, bounded.
 */
export const KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$';
export const Key = Type.String({ pattern: KEY_PATTERN });

/** 0 정상 Normal ... 4 심각 Serious; a union of literals so the static type is `Level` (0-4). */
export const Level = Type.Union(
  [0, 1, 2, 3, 4].map((n) => Type.Literal(n as 0 | 1 | 2 | 3 | 4)),
  {
    description: 'alert level 0-4',
  },
);
