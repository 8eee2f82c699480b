import { type Static, Type } from '@sinclair/typebox';
import { Count } from './bounds.ts';
import { Reading } from './reading.ts';

/**
 * The wire messages, one schema each (docs/protocol.md lists them):
 * telemetry here; status in status.ts; events in events.ts; cmd and cmd/ack in command.ts; the
 * site level in level.ts; the broker's clock in clock.ts.
 */

/** `slopeguard/v1/{site}/{gateway}/telemetry` */
export const Telemetry = Type.Object(
  {
    // A safe integer: 1e300 is a valid JSON number but makes gap counting meaningless.
    seq: Count,
    readings: Type.Array(Reading, { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: false },
);
export type Telemetry = Static<typeof Telemetry>;

export * from './clock.ts';
export * from './command.ts';
export * from './events.ts';
export * from './level.ts';
export * from './notice.ts';
export { Id } from './reading.ts';
export * from './status.ts';
