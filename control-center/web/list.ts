/**
 * The site list beside the map: searchable by id, sortable by level (worst first, silent sites
 * above Normal) or by last change. Rows are links, so the keyboard reaches every site.
 */
import { el } from './dom.ts';
import { t, time } from './i18n.ts';
import { badge } from './levels.ts';
import { conditionOf, lastChange, type SiteSummary } from './state.ts';

export type SortKey = 'level' | 'change' | 'name';

/** Severity for sorting: a silent or offline site ranks just below level 3, never with Normal. */
function severity(s: SiteSummary): number {
  const c = conditionOf(s);
  const lv = s.level?.level ?? 0;
  if (c === 'no_data' || c === 'offline') return Math.max(lv, 2.5);
  if (c === 'degraded') return lv + 0.25;
  return lv;
}

export function sortSites(list: SiteSummary[], key: SortKey, query: string): SiteSummary[] {
  const q = query.trim().toLowerCase();
  const out = q ? list.filter((s) => s.id.toLowerCase().includes(q)) : [...list];
  const byName = (a: SiteSummary, b: SiteSummary) => a.id.localeCompare(b.id);
  if (key === 'level') out.sort((a, b) => severity(b) - severity(a) || byName(a, b));
  else if (key === 'change') out.sort((a, b) => lastChange(b) - lastChange(a) || byName(a, b));
  else out.sort(byName);
  return out;
}

let lastKey = '';
/** Rebuilds the rows only when what they show changed, so keyboard focus in the list survives. */
export function renderList(tbody: HTMLElement, list: readonly SiteSummary[]): void {
  const key = list.map((s) => `${s.id}|${conditionOf(s)}|${s.level?.level}|${lastChange(s)}`).join(';');
  if (key === lastKey && tbody.childElementCount === list.length) return;
  lastKey = key;
  tbody.replaceChildren(
    ...list.map((s) => {
      const row = el('tr', { cls: 'site-row' });
      row.dataset.site = s.id;
      row.dataset.condition = conditionOf(s);
      const link = el('a', { text: s.id, attrs: { href: `#/site/${encodeURIComponent(s.id)}` } });
      row.append(el('td', {}, link), el('td', {}, badge(s)), el('td', { text: time(lastChange(s)) }));
      return row;
    }),
  );
}

export function listHeader(): HTMLElement {
  lastKey = '';
  return el(
    'tr',
    {},
    el('th', { text: t('site'), attrs: { scope: 'col' } }),
    el('th', { text: t('level'), attrs: { scope: 'col' } }),
    el('th', { text: t('lastChange'), attrs: { scope: 'col' } }),
  );
}
