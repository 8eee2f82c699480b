import { type Static, Type } from '@sinclair/typebox';
import { Level } from './bounds.ts';
import { EpochMs } from './reading.ts';

/**
 * `slopeguard/v1/{site}/notice`, retained, from the control center: the residents' short message for
 * the site's current warning, for LED signboards (전광판) and other displays at the slope. The two
 * forms are the 90-character (phones made before 2019) and 157-character (Korean cell broadcast since
 * October 2026) texts, in Korean and English. `level` 0 with `kind: "all_clear"` ends a warning.
 */
const Texts = Type.Object(
  {
    short: Type.String({ maxLength: 90, description: 'at most 90 characters' }),
    long: Type.String({ maxLength: 157, description: 'at most 157 characters' }),
  },
  { additionalProperties: false },
);

export const SiteNotice = Type.Object(
  {
    ts: EpochMs,
    level: Level,
    kind: Type.Union([Type.Literal('warning'), Type.Literal('all_clear'), Type.Literal('no_data')]),
    /** A drill (훈련): every display marks it as one. */
    exercise: Type.Boolean(),
    ko: Texts,
    en: Texts,
  },
  { additionalProperties: false },
);
export type SiteNotice = Static<typeof SiteNotice>;
