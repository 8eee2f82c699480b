import type { Level, SiteNotice } from '@slopeguard/core';
import type { Area, MessageKind } from './area.ts';
import { renderWarning } from './messages.ts';
import { LONG_LIMIT, messageLength, SHORT_LIMIT, truncateUnits } from './text-length.ts';

/**
 * The retained `slopeguard/v1/{site}/notice` for LED signboards (전광판) at the slope: the 90- and
 * 157-character forms of the current message (core/src/schemas/notice.ts). A warning and an
 * all-clear use the residents' texts; "no data" has a text of its own for the board, which
 * residents pass every day: it must not keep showing a stale all-clear or a stale warning once the
 * control center no longer knows the state. (It is no resident message: nothing is pushed or sent.)
 */
export type NoticeInput =
  | { area: Area; kind: MessageKind; level: Level; exercise: boolean; at: number }
  | { area: Area; kind: 'no_data'; exercise: boolean; at: number };

/** The no-data sentences: full, then short; `place` may be ''. */
const NO_DATA = {
  ko: [
    (p: string) =>
      `${p ? `${p} ` : ''}계측 중단. 상태를 알 수 없습니다. 비가 많이 오면 비탈면에 가까이 가지 마세요.`,
    (p: string) => `${p ? `${p} ` : ''}계측 중단. 비 오면 접근 금지.`,
  ],
  en: [
    (p: string) =>
      `${p ? `${p}: no` : 'No'} data. The state of the slope is unknown. In heavy rain keep away from the slope.`,
    (p: string) => `${p ? `${p}: no` : 'No'} data. Keep away in heavy rain.`,
  ],
} as const;

export function signboardNotice(input: NoticeInput): SiteNotice {
  if (input.kind === 'no_data') {
    const forms = (lang: 'ko' | 'en') => ({
      short: noData(input.area, lang, input.exercise, SHORT_LIMIT),
      long: noData(input.area, lang, input.exercise, LONG_LIMIT),
    });
    return {
      ts: input.at,
      level: 0,
      kind: 'no_data',
      exercise: input.exercise,
      ko: forms('ko'),
      en: forms('en'),
    };
  }
  const r = renderWarning({
    area: input.area,
    kind: input.kind,
    exercise: input.exercise,
    issuedAt: input.at,
  });
  return {
    ts: input.at,
    level: input.kind === 'all_clear' ? 0 : input.level,
    kind: input.kind === 'all_clear' ? 'all_clear' : 'warning',
    exercise: input.exercise,
    ko: { short: r.ko.short, long: r.ko.long },
    en: { short: r.en.short, long: r.en.long },
  };
}

function noData(area: Area, lang: 'ko' | 'en', exercise: boolean, limit: number): string {
  const drill = exercise ? (lang === 'ko' ? '[훈련]' : '[훈련 DRILL]') : '';
  const clean = (t: string) => t.normalize('NFC').replace(/\s+/g, ' ').trim();
  const head = `[${clean(area.issuer[lang])}]${drill} `;
  const place = clean(area.name[lang]);
  const [full, short] = NO_DATA[lang];
  for (const c of [`${head}${full(place)}`, `${head}${short(place)}`])
    if (messageLength(c) <= limit) return c;
  const cut = truncateUnits(place, limit - messageLength(`${head}${short('')}`) - 2);
  const text = `${head}${short(cut.length >= 8 ? cut : '')}`;
  if (messageLength(text) <= limit) return text;
  // The longest English issuers in a drill: cut the issuer, never the sentence.
  const tail = `${drill} ${short('')}`;
  return `[${truncateUnits(clean(area.issuer[lang]), limit - messageLength(tail) - 2)}]${tail}`;
}
