/**
 * The event report (`#/report/{site}`): for a site and a period (a storm), one printable page with
 * the charts over the period, the level timeline, the alerts and who acknowledged or changed them.
 * PDF through the browser's print (print CSS in style.css hides everything but the report).
 * The notifications sent about those alerts come from `GET /api/v1/alerts/{id}/notifications`
 * (addresses masked unless the reader is an admin).
 */
import * as api from './api.ts';
import { el } from './dom.ts';
import { levelName, t, time } from './i18n.ts';
import { alertNotifications, type Notification, notificationTable } from './notifications.ts';
import { createChartSet, fromRange } from './site-charts.ts';

const DAY = 24 * 3_600_000;
/** Chart width on A4 portrait with the print margins. */
const PRINT_WIDTH = 680;

/** `datetime-local` value in Asia/Seoul (the sites' zone) for an epoch ms, and back. */
const KST = 9 * 3_600_000;
const toInput = (ms: number) => new Date(ms + KST).toISOString().slice(0, 16);
const fromInput = (v: string) => Date.parse(`${v}:00Z`) - KST;

export interface Report {
  readonly site: string;
  close(): void;
}

export function openReport(root: HTMLElement, site: string): Report {
  let closed = false;
  let charts: ReturnType<typeof createChartSet> | null = null;
  const now = Date.now();
  const from = el('input', {
    attrs: { type: 'datetime-local', value: toInput(now - DAY), 'aria-label': 'from' },
  });
  const to = el('input', { attrs: { type: 'datetime-local', value: toInput(now), 'aria-label': 'to' } });
  const go = el('button', { text: t('reportShow'), attrs: { type: 'submit' } });
  const print = el('button', { text: t('print'), attrs: { type: 'button' } });
  print.addEventListener('click', () => window.print());
  const form = el('form', { cls: 'act no-print report-form' }, from, to, go, print);
  const body = el('div', { cls: 'report-body' });
  root.replaceChildren(
    el(
      'p',
      { cls: 'no-print' },
      el('a', { text: `← ${site}`, attrs: { href: `#/site/${encodeURIComponent(site)}` } }),
    ),
    form,
    body,
  );

  const load = async (f: number, tt: number) => {
    charts?.destroy();
    body.replaceChildren(el('h2', { text: `${t('report')} — ${site}`, attrs: { tabindex: '-1' } }));
    body.append(el('p', { cls: 'period', text: `${time(f)} – ${time(tt)} (KST)` }));
    const [rules, alerts] = await Promise.all([
      api.siteRules(site).catch(() => null),
      api.siteAlerts(site).catch(() => ({ alerts: [] as api.Alert[] })),
    ]);
    const inPeriod = alerts.alerts.filter(
      (a) => a.opened <= tt && (a.cleared ?? Number.POSITIVE_INFINITY) >= f,
    );
    const details = await Promise.all(inPeriod.map((a) => api.alertDetail(a.id).catch(() => null)));
    const sent = await Promise.all(inPeriod.map((a) => alertNotifications(a.id).catch(() => null)));
    const series = await Promise.all(
      (rules?.sensors ?? []).map(async (s) =>
        fromRange(s.id, s.kind, await api.readings(site, s.id, f, tt, 500)),
      ),
    ).catch(() => []);
    if (closed) return;

    const chartBox = el('div', { cls: 'report-charts' });
    body.append(el('h3', { text: t('charts') }), chartBox);
    charts = createChartSet(chartBox, rules, () => [f, tt], PRINT_WIDTH);
    charts.update(series, null);

    // Level timeline: every level change, data-state change and action, oldest first.
    const events = details
      .flatMap((d) => (d ? d.history.map((h) => ({ ...h, alert: d.alert })) : []))
      .filter((e) => e.ts >= f && e.ts <= tt)
      .sort((a, b) => a.ts - b.ts);
    const timeline = el('table', { cls: 'timeline' });
    timeline.append(
      el(
        'tr',
        {},
        el('th', { text: t('when') }),
        el('th', { text: t('level') }),
        el('th', { text: t('what') }),
        el('th', { text: t('by') }),
      ),
    );
    for (const e of events) {
      const row = el('tr');
      row.dataset.kind = e.kind;
      row.append(
        el('td', { text: time(e.ts) }),
        el('td', { text: e.level !== null ? `${e.level} ${levelName(e.level)}` : (e.dataState ?? '') }),
        el('td', { text: `${e.kind}${e.text ? ` — ${e.text}` : ''}` }),
        el('td', { text: e.actor ?? '' }),
      );
      timeline.append(row);
    }
    body.append(
      el('h3', { text: t('levelTimeline') }),
      events.length ? timeline : el('p', { text: t('noAlerts') }),
    );

    const list = el('ul', { cls: 'report-alerts' });
    for (const a of inPeriod) {
      const li = el('li', {
        text: `#${a.id} ${time(a.opened)} → ${a.cleared ? time(a.cleared) : '…'} · ${t('maxLevel')} ${a.maxLevel} ${levelName(a.maxLevel)}${
          a.acknowledged
            ? ` · ${t('acked')} ${a.ackBy ?? ''} ${time(a.acknowledged)}: ${a.ackComment ?? ''}`
            : ''
        }`,
      });
      li.dataset.alert = String(a.id);
      list.append(li);
    }
    body.append(el('h3', { text: t('alerts') }), list);
    // Notifications queued in the period, oldest first, with the alert they were about.
    const notices: Notification[] = sent
      .flatMap((n) => n?.notifications ?? [])
      .filter((n) => n.created >= f && n.created <= tt)
      .sort((a, b) => a.created - b.created);
    const box = el('div', { cls: 'report-notifications' });
    box.append(notificationTable(notices));
    if (sent.some((n) => n?.addresses === 'masked'))
      box.append(el('p', { cls: 'note', text: t('notifyMasked') }));
    body.append(el('h3', { text: t('notifications') }), box);
    body.dataset.ready = 'true';
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load(fromInput(from.value), fromInput(to.value));
  });
  void load(now - DAY, now);
  return {
    site,
    close() {
      closed = true;
      charts?.destroy();
    },
  };
}
