/**
 * Site alert levels: Korea's four crisis stages (재난 및 안전관리 기본법 art. 38) plus 0 for normal.
 * See docs/domain.md, "Alert tiers".
 */
export const LEVELS = [0, 1, 2, 3, 4] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_NAMES: Readonly<Record<Level, { ko: string; en: string }>> = {
  0: { ko: '정상', en: 'Normal' },
  1: { ko: '관심', en: 'Attention' },
  2: { ko: '주의', en: 'Caution' },
  3: { ko: '경계', en: 'Warning' },
  4: { ko: '심각', en: 'Serious' },
};

export function isLevel(value: unknown): value is Level {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 4;
}

export function levelLabel(level: Level): string {
  const n = LEVEL_NAMES[level];
  return `${n.ko} ${n.en}`;
}
