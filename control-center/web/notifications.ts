/**
 * The notifications sent about an alert and where its escalation stands
 * (`GET /api/v1/alerts/{id}/notifications`), drawn for the site page, the event report and the
 * alert inbox. Addresses come masked from the server unless the signed-in user is an admin.
 */
import { call } from './api.ts';
import { el } from './dom.ts';
import { levelName, t, time } from './i18n.ts';

export interface Notification {
  deliveryId: string;
  channel: string;
  recipientId: string;
  address: string;
  level: number;
  round: string;
  state: 'queued' | 'sent' | 'failed';
  attempts: number;
  lastError: string | null;
  created: number;
  updated: number;
  lastAttempt: number | null;
  sent: number | null;
}
export interface Escalation {
  chain: string;
  minLevel: number;
  running: boolean;
  startedAt: number | null;
  reached: number;
  tiers: Array<{ tier: number; dueAt: number | null; toldAt: number | null; contacts: string[] }>;
  nextTierAt: number | null;
  nextReminderAt: number | null;
  stopped: {
    reason: 'acknowledged' | 'cleared' | 'below_level';
    by: string | null;
    at: number | null;
  } | null;
}
export interface AlertNotifications {
  alert: number;
  addresses: 'full' | 'masked';
  notifications: Notification[];
  escalation: Escalation | null;
}

export const alertNotifications = (id: number) =>
  call<AlertNotifications>('GET', `/api/v1/alerts/${id}/notifications`);

/** "1단계 통보" / "tier 1", "재알림 2" / "reminder 2", "해제 통보" / "all-clear" from a round. */
function roundWords(round: string): string {
  if (round === 'clear') return t('notifyClear');
  const r = /\.r(\d+)$/.exec(round);
  const n = Number(r?.[1] ?? 0);
  return n === 0 ? t('notifyFirst') : `${t('notifyReminder')} ${n}`;
}

function stateWords(s: Notification['state']): string {
  return s === 'sent' ? t('notifySent') : s === 'failed' ? t('notifyFailed') : t('notifyQueued');
}

/** A table of deliveries: when, to whom (contact and address), how, level, state, attempts. */
export function notificationTable(list: readonly Notification[]): HTMLElement {
  if (list.length === 0) return el('p', { cls: 'note notifications-none', text: t('notifyNone') });
  const table = el(
    'table',
    { cls: 'notifications' },
    el(
      'tr',
      {},
      el('th', { text: t('when') }),
      el('th', { text: t('notifyTo') }),
      el('th', { text: t('notifyChannel') }),
      el('th', { text: t('level') }),
      el('th', { text: t('notifyState') }),
    ),
  );
  for (const n of list) {
    const row = el('tr');
    row.dataset.state = n.state;
    row.dataset.recipient = n.recipientId;
    row.dataset.round = n.round;
    const state = `${stateWords(n.state)}${n.sent ? ` ${time(n.sent)}` : ''} · ${t('notifyAttempts')} ${n.attempts}${
      n.lastError ? ` · ${n.lastError}` : ''
    }`;
    row.append(
      el('td', { text: time(n.created) }),
      el('td', { text: `${n.recipientId}${n.address ? ` (${n.address})` : ''}` }),
      el('td', { text: `${n.channel} · ${roundWords(n.round)}` }),
      el('td', { text: `${n.level} ${levelName(n.level)}` }),
      el('td', { text: state, cls: n.state === 'failed' ? 'stale' : '' }),
    );
    table.append(row);
  }
  return table;
}

/**
 * Where the escalation stands, in words: each tier told (when) or due (when), the next reminder,
 * or who stopped it. Null escalation: the site has no chain, or the alert stayed below its level.
 */
export function escalationBlock(e: Escalation | null): HTMLElement {
  const box = el('div', { cls: 'escalation' });
  if (!e) {
    box.dataset.state = 'none';
    box.append(el('p', { cls: 'note', text: t('escNone') }));
    return box;
  }
  box.dataset.state = e.running ? 'running' : 'stopped';
  box.append(
    el('p', {
      cls: 'esc-head',
      text: `${t('escalation')} (${e.chain}, ${t('escFrom')} ${e.minLevel} ${levelName(e.minLevel)}): ${
        e.running ? t('escRunning') : t('escStopped')
      }`,
    }),
  );
  const list = el('ul', { cls: 'esc-tiers' });
  for (const tier of e.tiers) {
    const told = tier.toldAt !== null;
    const li = el('li', {
      text: `${t('escTier').replace('{n}', String(tier.tier))} (${tier.contacts.join(', ')}): ${
        told
          ? `${t('escTold')} ${time(tier.toldAt)}`
          : e.running && tier.dueAt !== null
            ? `${t('escDue')} ${time(tier.dueAt)}`
            : t('escNotTold')
      }`,
    });
    li.dataset.tier = String(tier.tier);
    li.dataset.told = String(told);
    list.append(li);
  }
  box.append(list);
  if (e.running && e.nextReminderAt !== null)
    box.append(el('p', { cls: 'esc-next', text: `${t('escNextReminder')} ${time(e.nextReminderAt)}` }));
  if (e.stopped) {
    const why =
      e.stopped.reason === 'acknowledged'
        ? `${t('escStoppedAck')} ${e.stopped.by ?? ''} · ${time(e.stopped.at)}`
        : e.stopped.reason === 'cleared'
          ? `${t('escStoppedClear')} · ${time(e.stopped.at)}`
          : t('escStoppedBelow');
    const p = el('p', { cls: 'esc-stopped', text: why });
    p.dataset.reason = e.stopped.reason;
    box.append(p);
  }
  return box;
}
