/**
 * The officials' dashboard: sign-in, then a map of every site beside a sortable, searchable list,
 * the alert inbox and a page per site. Plain TypeScript with a 20-line DOM helper (dom.ts), no
 * component framework: the page has seven views and one data store, and a framework would cost
 * bundle size and a second way of doing things for no gain (docs/dashboard.md).
 * Routes are hash based (#/, #/alerts, #/site/{id}, #/report/{id}, #/admin, #/backtest) so the
 * static server needs no rewrite rules.
 */
import { type AdminPage, openAdmin } from './admin.ts';
import { createInbox } from './alerts.ts';
import * as api from './api.ts';
import { type BacktestView, openBacktest } from './backtest.ts';
import { byId, el } from './dom.ts';
import { currentLang, onLang, setLang, t } from './i18n.ts';
import { listHeader, renderList, type SortKey, sortSites } from './list.ts';
import { createLive } from './live.ts';
import { createMap, type SiteMap } from './map.ts';
import { openReport, type Report } from './report.ts';
import { openSitePage, renderSiteInfo, type SitePage } from './site-page.ts';
import { changed, sites, subscribe, watch } from './state.ts';

const signin = byId<HTMLFormElement>('signin');
const signinError = byId('signin-error');
const app = byId('app');
const banner = byId('live-banner');
const conn = byId('conn');
const views = {
  map: byId('view-map'),
  alerts: byId('view-alerts'),
  site: byId('view-site'),
  report: byId('view-report'),
  admin: byId('view-admin'),
  backtest: byId('view-backtest'),
};
const search = byId<HTMLInputElement>('search');
const sortSel = byId<HTMLSelectElement>('sort');
const listBody = byId('site-list-body');
const listHead = byId('site-list-head');
const placedNote = byId('placed-note');

let map: SiteMap | null = null;
let sitePage: SitePage | null = null;
let report: Report | null = null;
let admin: AdminPage | null = null;
let me = '';
let backtest: BacktestView | null = null;
let role = '';
const inbox = createInbox(views.alerts, () => role);

/** Every text that does not come from data, re-applied on language change. */
function applyTexts(): void {
  document.documentElement.lang = currentLang();
  for (const n of document.querySelectorAll<HTMLElement>('[data-t]'))
    n.textContent = t(n.dataset.t as Parameters<typeof t>[0]);
  search.placeholder = t('search');
  search.setAttribute('aria-label', t('search'));
  for (const o of sortSel.options) o.textContent = t(o.dataset.t as Parameters<typeof t>[0]);
  listHead.replaceChildren(listHeader());
  map?.relabel();
  setLiveText();
  changed();
  if (route().view === 'alerts') void inbox.refresh();
  if (admin) {
    admin.close();
    admin = openAdmin(views.admin, me);
  }
}

let liveNow = false;
function setLiveText(): void {
  conn.textContent = liveNow ? t('live') : t('connecting');
  conn.className = `conn ${liveNow ? 'up' : 'down'}`;
  banner.textContent = t('notLive');
}

const live = createLive(
  (isLive) => {
    liveNow = isLive;
    banner.hidden = isLive;
    setLiveText();
  },
  () => {
    // Refused for want of a session: stop retrying until signed in again.
    live.stop();
    if (!app.hidden) showSignIn();
  },
  () => {
    if (route().view === 'alerts') void inbox.refresh();
  },
);

function route(): {
  view: 'map' | 'alerts' | 'site' | 'report' | 'admin' | 'backtest';
  site?: string;
} {
  const h = location.hash;
  if (h.startsWith('#/alerts')) return { view: 'alerts' };
  // Admins only: anyone else gets the map (the server refuses the admin API to them anyway).
  if (h.startsWith('#/admin')) return role === 'admin' ? { view: 'admin' } : { view: 'map' };
  const bt = /^#\/backtest(?:\/(.+))?$/.exec(h);
  if (bt) return bt[1] ? { view: 'backtest', site: decodeURIComponent(bt[1]) } : { view: 'backtest' };
  const rep = /^#\/report\/(.+)$/.exec(h);
  if (rep?.[1]) return { view: 'report', site: decodeURIComponent(rep[1]) };
  const m = /^#\/site\/(.+)$/.exec(h);
  if (m?.[1]) return { view: 'site', site: decodeURIComponent(m[1]) };
  return { view: 'map' };
}

function render(): void {
  // Leaflet measures its container when created: never build the map while signed out (hidden).
  if (app.hidden) return;
  const r = route();
  for (const [k, v] of Object.entries(views)) v.hidden = k !== r.view;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === `#/${r.view === 'map' ? '' : r.view}`);
  const list = [...sites.values()];
  if (r.view === 'map') {
    map ??= createMap(byId('map'), (id) => {
      location.hash = `#/site/${encodeURIComponent(id)}`;
    });
    map.update(list);
    renderList(listBody, sortSites(list, sortSel.value as SortKey, search.value));
    const placed = list.filter((s) => !s.position).length;
    placedNote.hidden = placed === 0;
    placedNote.textContent = t('placed').replace('{n}', String(placed));
  } else if (r.view === 'admin') {
    // Built once per visit; its forms re-read what they change.
    admin ??= openAdmin(views.admin, me);
  } else if (r.view === 'report' && r.site) {
    // Built once per visit: a report is a record of a period, not a live view.
    if (report?.site !== r.site) {
      report?.close();
      report = openReport(views.report, r.site);
    }
  } else if (r.view === 'backtest') {
    // Built once per visit, like the report: a backtest is a run on demand, not a live view.
    if (!backtest || backtest.site !== (r.site ?? null)) {
      backtest?.close();
      backtest = openBacktest(views.backtest, r.site ?? null, () => [...sites.keys()]);
    } else backtest.update();
  } else if (r.view === 'site' && r.site) {
    watch(r.site);
    renderSiteInfo(byId('site-info'), sites.get(r.site), r.site);
    if (sitePage?.site !== r.site) {
      sitePage?.close();
      sitePage = openSitePage(byId('site-charts'), r.site, role);
    } else sitePage.update();
  }
}
subscribe(render);

window.addEventListener('hashchange', () => {
  const r = route();
  if (r.view === 'alerts') void inbox.refresh();
  if (r.view !== 'site') {
    watch(null);
    sitePage?.close();
    sitePage = null;
  }
  if (r.view !== 'report') {
    report?.close();
    report = null;
  }
  if (r.view !== 'admin') {
    admin?.close();
    admin = null;
  }
  if (r.view !== 'backtest') {
    backtest?.close();
    backtest = null;
  }
  render();
  if (r.view === 'map') map?.invalidate();
  views[r.view].querySelector<HTMLElement>('h2, [tabindex]')?.focus();
});
search.addEventListener('input', changed);
sortSel.addEventListener('change', changed);
byId('lang').addEventListener('click', () => setLang(currentLang() === 'ko' ? 'en' : 'ko'));
byId('signout').addEventListener('click', async () => {
  await api.signOut().catch(() => undefined);
  live.stop();
  showSignIn();
});
onLang(applyTexts);

function showSignIn(message = ''): void {
  app.hidden = true;
  signin.hidden = false;
  signinError.textContent = message;
  signin.querySelector('input')?.focus();
}

function started(s: api.SessionInfo): void {
  signin.hidden = true;
  app.hidden = false;
  byId('who').textContent = `${s.user.username} (${s.user.role})`;
  role = s.user.role;
  me = s.user.username;
  byId('nav-admin').hidden = role !== 'admin';
  if (role !== 'admin') {
    // Nothing an admin read in this tab stays in the page for the next user.
    admin?.close();
    admin = null;
    views.admin.replaceChildren();
  }
  live.start();
  render();
  map?.invalidate();
}

signin.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const data = new FormData(signin);
  try {
    const s = await api.signIn(String(data.get('username')), String(data.get('password')));
    signin.reset();
    started(s);
  } catch (err) {
    showSignIn(err instanceof api.ApiFailure && err.status === 429 ? t('tooMany') : t('wrongPassword'));
  }
});

// Ages and "last seen" move on even when nothing arrives.
setInterval(changed, 1000);

applyTexts();
// Open the socket while the session is checked, not after: one round trip less before the first
// paint. Signed out, the server refuses the handshake and the sign-in form shows either way.
live.start();
void api.session().then((s) => {
  if (s) return started(s);
  live.stop();
  showSignIn();
});
document.body.append(el('span', { attrs: { id: 'ready', hidden: '' } }));
