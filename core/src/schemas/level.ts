import { type Static, Type } from '@sinclair/typebox';
import { Finite, Level, Text } from './bounds.ts';
import { EpochMs, Id } from './reading.ts';

/** One reason behind a level: which rule, on which sensor, what value against which threshold. */
export const LevelReason = Type.Object(
  {
    rule: Type.String({ minLength: 1, maxLength: 64 }),
    level: Type.Optional(Level),
    sensor: Type.Optional(Id),
    value: Type.Optional(Finite),
    threshold: Type.Optional(Finite),
    window: Type.Optional(Type.String({ maxLength: 32 })),
    unit: Type.Optional(
      Type.String({ maxLength: 32, description: 'unit of value and threshold, e.g. mm, deg/h' }),
    ),
    tf: Type.Optional(Type.Number({ description: 'forecast time of failure, epoch ms' })),
    r2: Type.Optional(Type.Number({ description: 'fit quality of the time-of-failure forecast' })),
    operator: Type.Optional(Type.String({ maxLength: 64, description: 'who released a level by hand' })),
    text: Type.Optional(Text(1000)),
  },
  { additionalProperties: false },
);
export type LevelReason = Static<typeof LevelReason>;

export const LevelReasons = Type.Array(LevelReason, { maxItems: 64 });

/** `slopeguard/v1/{site}/level`, retained: the site's official level. */
export const SiteLevel = Type.Object(
  {
    level: Level,
    ts: EpochMs,
    reasons: LevelReasons,
  },
  { additionalProperties: false },
);
export type SiteLevel = Static<typeof SiteLevel>;
