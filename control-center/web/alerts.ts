/**
 * The alert inbox: active alerts, worst first; acknowledge with a comment, release of level 4 with a
 * reason, a manual level with a reason; who did what, from each alert's history; where the
 * escalation stands and the notifications sent (web/notifications.ts). Every action
 * goes through the REST API with the CSRF token; the server audits it and refuses what the
 * signed-in role may not do (the refusal is shown as it comes).
 */
import * as api from './api.ts';
import { el } from './dom.ts';
import { levelName, t, time } from './i18n.ts';
import {
  type AlertNotifications,
  alertNotifications,
  escalationBlock,
  notificationTable,
} from './notifications.ts';

/** Roles that may act on alerts; the server refuses the others anyway (403). */
export const mayAct = (role: string) => role === 'operator' || role === 'admin';

/** `role()` is the signed-in user's role: viewers get the alerts and their history, no forms. */
export function createInbox(root: HTMLElement, role: () => string): { refresh(): Promise<void> } {
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const { alerts } = await api.listAlerts();
      const [details, sent] = await Promise.all([
        Promise.all(alerts.map((a) => api.alertDetail(a.id))),
        Promise.all(alerts.map((a) => alertNotifications(a.id).catch(() => null))),
      ]);
      alerts.sort((a, b) => b.level - a.level || b.updated - a.updated);
      root.replaceChildren(
        el('h2', { text: t('alerts') }),
        ...(alerts.length === 0 ? [el('p', { text: t('noAlerts'), cls: 'empty' })] : []),
        ...alerts.map((a) =>
          card(
            a,
            details.find((d) => d.alert.id === a.id)?.history ?? [],
            sent.find((n) => n?.alert === a.id) ?? null,
            mayAct(role()),
            refresh,
          ),
        ),
      );
    } catch (err) {
      root.replaceChildren(el('p', { cls: 'error', text: `${t('failed')}: ${(err as Error).message}` }));
    } finally {
      busy = false;
    }
  };
  return { refresh };
}

function card(
  a: api.Alert,
  history: api.AlertEvent[],
  sent: AlertNotifications | null,
  act: boolean,
  refresh: () => Promise<void>,
): HTMLElement {
  const c = el('article', { cls: `alert lv-${a.level} data-${a.dataState}` });
  c.dataset.alert = String(a.id);
  c.dataset.site = a.site;
  const head = el(
    'h3',
    {},
    el('span', { cls: 'glyph', text: `${a.level}` }),
    document.createTextNode(` ${a.site} · ${levelName(a.level)}`),
  );
  if (a.dataState !== 'live')
    head.append(el('span', { cls: 'tag', text: a.dataState === 'no_data' ? t('noData') : t('degraded') }));
  c.append(head, el('p', { cls: 'meta', text: `${t('opened')} ${time(a.opened)}` }));
  if (a.acknowledged !== null)
    c.append(
      el('p', {
        cls: 'acked',
        text: `${t('acked')} · ${a.ackBy ?? ''} · ${time(a.acknowledged)} · ${a.ackComment ?? ''}`,
      }),
    );
  else if (act) c.append(form(t('comment'), t('ack'), 'ack', (text) => api.acknowledge(a.id, text), refresh));
  if (act && a.level === 4)
    c.append(form(t('reason'), t('release'), 'release', (text) => api.release(a.site, text), refresh));
  if (act) c.append(manualForm(a.site, refresh));
  const ol = el('ol', { cls: 'history', attrs: { 'aria-label': t('history') } });
  for (const e of history)
    ol.append(
      el('li', {
        text: [time(e.ts), e.kind, e.actor ?? 'system', e.level === null ? '' : `L${e.level}`, e.text ?? '']
          .filter(Boolean)
          .join(' · '),
      }),
    );
  c.append(el('details', { cls: 'hist' }, el('summary', { text: t('history') }), ol));
  if (sent) {
    c.append(escalationBlock(sent.escalation));
    c.append(
      el(
        'details',
        { cls: 'sent' },
        el('summary', { text: `${t('notifications')} (${sent.notifications.length})` }),
        notificationTable(sent.notifications),
      ),
    );
  }
  return c;
}

function form(
  label: string,
  button: string,
  name: string,
  send: (text: string) => Promise<unknown>,
  refresh: () => Promise<void>,
): HTMLElement {
  const input = el('input', { attrs: { name, required: '', minlength: '3', maxlength: '1000' } });
  const msg = el('span', { cls: 'msg', attrs: { role: 'status' } });
  const f = el(
    'form',
    { cls: `act act-${name}` },
    el('label', { text: `${label} ` }, input),
    el('button', { text: button, attrs: { type: 'submit' } }),
    msg,
  );
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await send(input.value);
      await refresh();
    } catch (err) {
      msg.textContent = `${t('failed')}: ${(err as Error).message}`;
    }
  });
  return f;
}

function manualForm(site: string, refresh: () => Promise<void>): HTMLElement {
  const select = el('select', { attrs: { name: 'level' } });
  for (const l of [0, 1, 2, 3, 4])
    select.append(el('option', { text: `${l} ${levelName(l)}`, attrs: { value: String(l) } }));
  const reason = el('input', { attrs: { name: 'reason', required: '', minlength: '3', maxlength: '1000' } });
  const msg = el('span', { cls: 'msg', attrs: { role: 'status' } });
  const f = el(
    'form',
    { cls: 'act act-manual' },
    el('label', { text: `${t('manual')} ` }, select),
    el('label', { text: `${t('reason')} ` }, reason),
    el('button', { text: t('set'), attrs: { type: 'submit' } }),
    msg,
  );
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api.manualLevel(site, Number(select.value), reason.value);
      await refresh();
    } catch (err) {
      msg.textContent = `${t('failed')}: ${(err as Error).message}`;
    }
  });
  return f;
}
