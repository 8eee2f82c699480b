/**
 * How a site's level and condition look. Colour is never the only signal: every level has its own
 * shape and number, and "no data", "degraded" and "gateway offline" have their own shape and word,
 * so colour-blind people (and grey-scale printouts) read the same thing.
 */
import { el } from './dom.ts';
import { levelName, t } from './i18n.ts';
import { type Condition, conditionOf, type SiteSummary } from './state.ts';

/** Okabe–Ito based palette: distinguishable with the common colour-vision deficiencies. */
export const LEVEL_COLOURS = ['#009E73', '#56B4E9', '#F0E442', '#E69F00', '#D55E00'] as const;
const LEVEL_SHAPES = ['●', '◆', '▲', '⬢', '■'] as const;
const CONDITION_SHAPES: Record<Exclude<Condition, 'ok'>, string> = {
  no_data: '?',
  offline: '✕',
  degraded: '!',
  unset: '–',
};

export function conditionText(c: Condition): string {
  switch (c) {
    case 'no_data':
      return t('noData');
    case 'offline':
      return t('gwOffline');
    case 'degraded':
      return t('degraded');
    case 'unset':
      return t('notSet');
    default:
      return '';
  }
}

/** The words for a site: level (or "no data" first, with the last known level after it). */
export function siteLabel(s: SiteSummary): string {
  const c = conditionOf(s);
  const lv = s.level ? `${s.level.level} ${levelName(s.level.level)}` : t('notSet');
  if (c === 'no_data' || c === 'offline') return `${conditionText(c)} (${t('lastKnown')}: ${lv})`;
  if (c === 'degraded') return `${lv} · ${conditionText(c)}`;
  return lv;
}

/** A badge: shape glyph + level number (or condition glyph) + words; the class carries the colour. */
export function badge(s: SiteSummary): HTMLElement {
  const c = conditionOf(s);
  const level = s.level?.level ?? null;
  const glyph = c === 'ok' ? LEVEL_SHAPES[level ?? 0] : CONDITION_SHAPES[c];
  const b = el('span', { cls: `badge cond-${c} lv-${level ?? 'x'}` });
  b.dataset.condition = c;
  b.dataset.level = String(level ?? '');
  b.append(el('span', { cls: 'glyph', text: glyph, attrs: { 'aria-hidden': 'true' } }));
  b.append(el('span', { cls: 'words', text: siteLabel(s) }));
  return b;
}
