import type { Level } from '@slopeguard/core';
import type { Area, MessageKind } from './area.ts';
import { LONG_LIMIT, messageLength, SHORT_LIMIT, truncateUnits } from './text-length.ts';

/**
 * The residents' messages: per kind (caution = level 2 주의, warning = 3 경계, serious = 4 심각, and
 * the all-clear), in Korean and English, in three forms: `short` (<= 90 characters, phones made before
 * 2019), `long` (<= 157, Korean cell broadcast since October 2026) and `full` (web page, e-mail).
 * Characters are counted by `messageLength` (text-length.ts).
 *
 * Each text says, in this order, who sends it (first, in brackets, as Korean disaster texts do:
 * "[○○시청]"), whether it is a drill ("[훈련]", in every text of an exercise, English included),
 * what is happening and where, what to do, and where to go (the nearest shelter). When a form is too
 * long, the shelter goes first, then the sentences are abbreviated, then the place name is cut with
 * an ellipsis (and, for the longest English issuers in a drill, the issuer's name); the drill mark,
 * the level and the action are never dropped.
 *
 * Level 1 (관심) is for officials only and "no data" (측정 중단) is an officials' matter too: neither
 * has a resident message (docs/warnings.md explains why); `residentKind` returns undefined for them.
 */
export type Lang = 'ko' | 'en';
export const LANGS: readonly Lang[] = ['ko', 'en'];

export interface MessageForms {
  short: string;
  long: string;
  full: string;
  /** One line for an e-mail subject or a notification title. */
  subject: string;
}

export interface WarningInput {
  area: Area;
  kind: MessageKind;
  exercise: boolean;
  /** When the level changed (epoch ms); the full text shows it in the area's time zone. */
  issuedAt: number;
  /** The area's public page, linked from the full text. */
  pageUrl?: string;
}

export type RenderedWarning = Record<Lang, MessageForms>;

/** Which resident message a level calls for; undefined for 0 and 1 (officials only). */
export function residentKind(level: Level): Exclude<MessageKind, 'all_clear'> | undefined {
  if (level === 2) return 'caution';
  if (level === 3) return 'warning';
  if (level === 4) return 'serious';
  return undefined;
}

export const KIND_LEVEL: Readonly<Record<MessageKind, Level>> = {
  caution: 2,
  warning: 3,
  serious: 4,
  all_clear: 0,
};

interface Phrases {
  /** What and where, with the level word. */
  what(place: string): string;
  /** The same, fewer words; `place` may be ''. */
  whatShort(place: string): string;
  /** Why: what the sensors saw (full text only). */
  why: string;
  act: string;
  actShort: string;
}

/** "장산 급경사지" stays as it is; "우면산" becomes "우면산 급경사지". */
const slope = (place: string) => (/급경사지|비탈면|사면/.test(place) ? place : `${place} 급경사지`);

const DRILL: Record<Lang, string> = { ko: '[훈련]', en: '[훈련 DRILL]' };

const PHRASES: Record<Lang, Record<MessageKind, Phrases>> = {
  ko: {
    caution: {
      what: (p) => `${slope(p)} 붕괴 위험(주의).`,
      whatShort: (p) => `${p} 붕괴 주의.`.trimStart(),
      why: '계측기가 비탈면의 움직임이나 많은 비를 감지했습니다.',
      act: '비탈면에 가까이 가지 말고 대피를 준비하세요.',
      actShort: '접근 금지, 대피 준비.',
    },
    warning: {
      what: (p) => `${slope(p)} 붕괴 우려(경계).`,
      whatShort: (p) => `${p} 붕괴 경계.`.trimStart(),
      why: '비탈면이 빠르게 움직이고 있습니다.',
      act: '노약자는 지금 대피하고, 다른 주민도 대피를 준비하세요.',
      actShort: '노약자 즉시 대피.',
    },
    serious: {
      what: (p) => `${slope(p)} 붕괴 임박(심각).`,
      whatShort: (p) => `${p} 붕괴 임박(심각).`.trimStart(),
      why: '비탈면이 곧 무너질 수 있습니다.',
      act: '지금 바로 대피하세요.',
      actShort: '즉시 대피.',
    },
    all_clear: {
      what: (p) => `${slope(p)} 붕괴 위험 해제.`,
      whatShort: (p) => `${p} 위험 해제.`.trimStart(),
      why: '비탈면의 움직임이 멈추고 위험이 지나갔습니다.',
      act: '귀가할 때 주변 안전을 확인하세요.',
      actShort: '귀가 시 안전 확인.',
    },
  },
  en: {
    caution: {
      what: (p) => `Slope collapse possible at ${p} (Caution).`,
      whatShort: (p) => (p ? `${p}: landslide (Caution).` : 'Landslide (Caution).'),
      why: 'Sensors detected movement of the slope or heavy rain.',
      act: 'Keep away from the slope and get ready to leave.',
      actShort: 'Keep away, get ready.',
    },
    warning: {
      what: (p) => `Slope collapse likely at ${p} (Warning).`,
      whatShort: (p) => (p ? `${p}: landslide (Warning).` : 'Landslide (Warning).'),
      why: 'The slope is moving fast.',
      act: 'Older, sick and disabled people leave now; everyone else get ready.',
      actShort: 'Vulnerable people leave now.',
    },
    serious: {
      what: (p) => `Slope collapse imminent at ${p} (Serious).`,
      whatShort: (p) => (p ? `${p}: landslide (Serious).` : 'Landslide (Serious).'),
      why: 'The slope may fail at any moment.',
      act: 'Leave now.',
      actShort: 'Leave now.',
    },
    all_clear: {
      what: (p) => `Slope danger over at ${p} (all clear).`,
      whatShort: (p) => (p ? `${p}: all clear.` : 'All clear.'),
      why: 'The slope has stopped moving and the danger has passed.',
      act: 'Check around you on your way home.',
      actShort: 'Check before going home.',
    },
  },
};

const SHELTER: Record<Lang, (name: string) => string> = {
  ko: (n) => `대피소: ${n}`,
  en: (n) => `Go to: ${n}`,
};

/** Renders every form in both languages. Pure; throws nothing for a valid area. */
export function renderWarning(input: WarningInput): RenderedWarning {
  return { ko: renderLang(input, 'ko'), en: renderLang(input, 'en') };
}

function renderLang(input: WarningInput, lang: Lang): MessageForms {
  return {
    short: fit(input, lang, SHORT_LIMIT),
    long: fit(input, lang, LONG_LIMIT),
    full: fullText(input, lang),
    subject: fit(input, lang, LONG_LIMIT, false),
  };
}

/** Names come from a YAML file: one line each, NFC, no control characters. */
function clean(s: string): string {
  return s
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\s]+/gu, ' ')
    .trim();
}

function head(input: WarningInput, lang: Lang): string {
  const issuer = `[${clean(input.area.issuer[lang])}]`;
  return input.exercise ? `${issuer}${DRILL[lang]} ` : `${issuer} `;
}

function action(input: WarningInput, lang: Lang): string {
  const o = input.area.messages[input.kind]?.[lang];
  return o ? clean(o) : PHRASES[lang][input.kind].act;
}

/**
 * The first candidate that fits `limit`: with the shelter, without it, abbreviated, then with the
 * place name cut. The last candidate (no place name, the shortest phrases) fits for every area the
 * schema accepts (issuer <= 30): the message test checks that with the longest names allowed.
 */
function fit(input: WarningInput, lang: Lang, limit: number, withShelter = true): string {
  const p = PHRASES[lang][input.kind];
  const h = head(input, lang);
  const place = clean(input.area.name[lang]);
  const shelter = input.area.shelters[0];
  const act = action(input, lang);
  const candidates: string[] = [];
  if (withShelter && shelter && input.kind !== 'all_clear')
    candidates.push(`${h}${p.what(place)} ${act} ${SHELTER[lang](clean(shelter.name[lang]))}`);
  candidates.push(`${h}${p.what(place)} ${act}`);
  candidates.push(`${h}${p.whatShort(place)} ${act}`);
  if (withShelter && shelter && input.kind !== 'all_clear')
    candidates.push(`${h}${p.whatShort(place)} ${p.actShort} ${SHELTER[lang](clean(shelter.name[lang]))}`);
  candidates.push(`${h}${p.whatShort(place)} ${p.actShort}`);
  for (const c of candidates) if (messageLength(c) <= limit) return c;
  // Cut the place name to what is left.
  const rest = messageLength(`${h}${p.whatShort('x')} ${p.actShort}`) - 1;
  const cut = truncateUnits(place, limit - rest);
  const last = `${h}${p.whatShort(cut.length >= 8 ? cut : '')} ${p.actShort}`;
  if (messageLength(last) <= limit) return last;
  // Only an issuer near its 30-character bound with the drill mark gets here: cut the issuer's
  // name rather than the action.
  const tail = `${input.exercise ? DRILL[lang] : ''} ${p.whatShort('')} ${p.actShort}`;
  const issuer = truncateUnits(clean(input.area.issuer[lang]), limit - messageLength(tail) - 2);
  return `[${issuer}]${tail}`;
}

const TIME_FORMAT: Record<Lang, Intl.DateTimeFormatOptions> = {
  ko: {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  },
  en: {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  },
};

export function formatTime(epochMs: number, timeZone: string, lang: Lang): string {
  return new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', {
    ...TIME_FORMAT[lang],
    timeZone,
  }).format(epochMs);
}

const FULL_LABELS: Record<
  Lang,
  { shelters: string; nearest: string; issued: string; page: string; drill: string; noShelter: string }
> = {
  ko: {
    shelters: '대피소',
    nearest: '가까운 곳부터',
    issued: '발표 시각',
    page: '최신 정보',
    drill: '이 메시지는 훈련입니다. 실제 상황이 아닙니다.',
    noShelter: '가까운 지정 대피소나 비탈면에서 먼 튼튼한 건물로 가세요.',
  },
  en: {
    shelters: 'Shelters',
    nearest: 'nearest first',
    issued: 'Issued',
    page: 'Latest information',
    drill: 'This is a drill. It is not a real emergency.',
    noShelter: 'Go to the nearest designated shelter or a solid building away from the slope.',
  },
};

/** The full text for the web and e-mail: every sentence, every shelter with its address. */
function fullText(input: WarningInput, lang: Lang): string {
  const p = PHRASES[lang][input.kind];
  const l = FULL_LABELS[lang];
  const lines: string[] = [];
  lines.push(head(input, lang).trim());
  lines.push(p.what(clean(input.area.name[lang])));
  lines.push(p.why);
  lines.push(action(input, lang));
  if (input.kind !== 'all_clear') {
    if (input.area.shelters.length > 0) {
      lines.push('', `${l.shelters} (${l.nearest}):`);
      for (const s of input.area.shelters) lines.push(`- ${clean(s.name[lang])}: ${clean(s.address[lang])}`);
    } else {
      lines.push(l.noShelter);
    }
  }
  lines.push('', `${l.issued}: ${formatTime(input.issuedAt, input.area.timeZone, lang)}`);
  if (input.pageUrl) lines.push(`${l.page}: ${input.pageUrl}`);
  if (input.exercise) lines.push(l.drill);
  return lines.join('\n');
}

/** The sentences of a kind for the public page: what (with the place), why, what to do. */
export function warningSentences(
  area: Area,
  kind: MessageKind,
  lang: Lang,
): { what: string; why: string; act: string } {
  const p = PHRASES[lang][kind];
  return {
    what: p.what(clean(area.name[lang])),
    why: p.why,
    act: action({ area, kind, exercise: false, issuedAt: 0 }, lang),
  };
}

/**
 * Overrides of the "what to do" sentence that do not fit the 157-character form of a drill next to
 * the issuer and the place name: configuration errors, listed with their paths (`/messages/warning/ko: ...`).
 */
export function overrideErrors(area: Area): string[] {
  const errors: string[] = [];
  for (const kind of Object.keys(area.messages) as MessageKind[]) {
    for (const lang of LANGS) {
      const o = area.messages[kind]?.[lang];
      if (!o) continue;
      const input: WarningInput = { area, kind, exercise: true, issuedAt: 0 };
      const long = fit(input, lang, LONG_LIMIT);
      if (!long.includes(clean(o))) {
        const place = clean(area.name[lang]);
        const need = messageLength(`${head(input, lang)}${PHRASES[lang][kind].whatShort(place)} ${clean(o)}`);
        errors.push(
          `/messages/${kind}/${lang}: too long for the ${LONG_LIMIT}-character form (${need} characters with the issuer, the drill mark and the place)`,
        );
      }
    }
  }
  return errors;
}
