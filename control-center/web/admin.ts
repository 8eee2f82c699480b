/**
 * The admin page (`#/admin`, admins only; main.ts hides it from others and the server refuses them
 * anyway): users (list, add, disable, enable again, password reset), API tokens (list, create with the secret
 * shown once, revoke) and the audit trail (newest first, filtered, paged; export as CSV or NDJSON
 * through `GET /api/v1/audit`). Every change goes through the admin API, which audits it.
 */
import { call } from './api.ts';
import { el } from './dom.ts';
import { type Key, t, time } from './i18n.ts';

interface User {
  username: string;
  role: string;
  disabled: boolean;
  created: number;
}
interface Token {
  id: number;
  name: string;
  scope: string;
  createdBy: string;
  created: number;
  revoked: number | null;
}
interface AuditRecord {
  seq: number;
  ts: number;
  actor: string;
  address: string;
  action: string;
  target: string;
  outcome: string;
  detail: Record<string, unknown>;
}

const ROLES = ['viewer', 'operator', 'admin'];
const SCOPES = ['read', 'open-data', 'operator'];
/** Records per request (the API's most), and the newest this many are kept for filtering and paging. */
const AUDIT_WINDOW = 10_000;
const AUDIT_PAGE = 50;

export interface AdminPage {
  close(): void;
}

/** `me` is the signed-in admin: they get no button to disable their own account. */
export function openAdmin(root: HTMLElement, me: string): AdminPage {
  let closed = false;
  const users = el('section', { cls: 'admin-users' });
  const tokens = el('section', { cls: 'admin-tokens' });
  const audit = el('section', { cls: 'admin-audit' });
  root.replaceChildren(el('h2', { text: t('admin'), attrs: { tabindex: '-1' } }), users, tokens, audit);
  const auditView = createAudit(audit, () => closed);
  const reloadUsers = () => loadUsers(users, me, () => void auditView.reload());
  const reloadTokens = () => loadTokens(tokens, () => void auditView.reload());
  void reloadUsers();
  void reloadTokens();
  void auditView.reload();
  return {
    close() {
      closed = true;
    },
  };
}

/** A form whose submit runs `send`, says a refusal in words and re-reads on success. */
function actForm(
  cls: string,
  fields: HTMLElement[],
  button: Key,
  send: () => Promise<unknown>,
): HTMLFormElement {
  const msg = el('span', { cls: 'msg', attrs: { role: 'status' } });
  const f = el(
    'form',
    { cls: `act ${cls}` },
    ...fields,
    el('button', { text: t(button), attrs: { type: 'submit' } }),
    msg,
  );
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      await send();
    } catch (err) {
      msg.textContent = `${t('failed')}: ${(err as Error).message}`;
    }
  });
  return f;
}

const labelled = (key: Key, input: HTMLElement) => el('label', { text: `${t(key)} ` }, input);

function select(name: string, options: string[]): HTMLSelectElement {
  const s = el('select', { attrs: { name } });
  for (const o of options) s.append(el('option', { text: o, attrs: { value: o } }));
  return s;
}

async function loadUsers(box: HTMLElement, me: string, changed: () => void): Promise<void> {
  const reload = async () => {
    await loadUsers(box, me, changed);
    changed();
  };
  const name = el('input', { attrs: { name: 'username', required: '', minlength: '2', maxlength: '32' } });
  const role = select('role', ROLES);
  const pw = el('input', {
    attrs: {
      name: 'password',
      type: 'password',
      required: '',
      minlength: '12',
      maxlength: '256',
      autocomplete: 'new-password',
    },
  });
  const add = actForm(
    'admin-add-user',
    [labelled('user', name), labelled('role', role), labelled('password', pw)],
    'addUser',
    async () => {
      await call('POST', '/api/v1/users', { username: name.value, role: role.value, password: pw.value });
      await reload();
    },
  );
  const table = el(
    'table',
    { cls: 'admin-table users' },
    el(
      'tr',
      {},
      el('th', { text: t('user') }),
      el('th', { text: t('role') }),
      el('th', { text: t('created') }),
      el('th', { text: t('state') }),
      el('th', { text: t('actions') }),
    ),
  );
  try {
    const { users } = await call<{ users: User[] }>('GET', '/api/v1/users');
    for (const u of users) {
      const row = el('tr');
      row.dataset.user = u.username;
      row.dataset.disabled = String(u.disabled);
      const actions = el('td');
      if (!u.disabled && u.username !== me) {
        const disable = el('button', { text: t('disable'), attrs: { type: 'button' } });
        disable.className = 'disable';
        disable.addEventListener('click', async () => {
          if (!window.confirm(`${t('disable')}: ${u.username}?`)) return;
          await call('POST', `/api/v1/users/${encodeURIComponent(u.username)}/disable`).catch(
            () => undefined,
          );
          await reload();
        });
        actions.append(disable);
      }
      if (u.disabled) {
        // Enabling restores the account, not its sessions: the user signs in again.
        const enable = el('button', { text: t('enable'), attrs: { type: 'button' } });
        enable.className = 'enable';
        enable.addEventListener('click', async () => {
          if (!window.confirm(`${t('enable')}: ${u.username}?`)) return;
          await call('POST', `/api/v1/users/${encodeURIComponent(u.username)}/enable`).catch(() => undefined);
          await reload();
        });
        actions.append(enable);
      }
      const npw = el('input', {
        attrs: {
          type: 'password',
          required: '',
          minlength: '12',
          maxlength: '256',
          autocomplete: 'new-password',
          'aria-label': `${t('newPassword')} ${u.username}`,
        },
      });
      actions.append(
        actForm('admin-passwd', [npw], 'resetPassword', async () => {
          await call('POST', `/api/v1/users/${encodeURIComponent(u.username)}/password`, {
            password: npw.value,
          });
          npw.value = '';
          await reload();
        }),
      );
      row.append(
        el('td', { text: u.username }),
        el('td', { text: u.role }),
        el('td', { text: time(u.created) }),
        el('td', { text: u.disabled ? t('disabled') : t('enabled') }),
        actions,
      );
      table.append(row);
    }
    box.replaceChildren(el('h3', { text: t('users') }), table, add);
  } catch (err) {
    box.replaceChildren(
      el('h3', { text: t('users') }),
      el('p', { cls: 'error', text: `${t('failed')}: ${(err as Error).message}` }),
    );
  }
}

async function loadTokens(box: HTMLElement, changed: () => void, shown?: HTMLElement): Promise<void> {
  const name = el('input', { attrs: { name: 'name', required: '', maxlength: '64' } });
  const scope = select('scope', SCOPES);
  const create = actForm(
    'admin-add-token',
    [labelled('tokenName', name), labelled('scope', scope)],
    'createToken',
    async () => {
      const r = await call<{ token: string; info: Token }>('POST', '/api/v1/tokens', {
        name: name.value,
        scope: scope.value,
      });
      // The secret exists only in this answer: shown once, never stored by the page.
      const once = el(
        'div',
        { cls: 'token-once', attrs: { role: 'status' } },
        el('p', { text: t('tokenOnce') }),
        el('code', { text: r.token }),
      );
      once.dataset.token = String(r.info.id);
      await loadTokens(box, changed, once);
      changed();
    },
  );
  const table = el(
    'table',
    { cls: 'admin-table tokens' },
    el(
      'tr',
      {},
      el('th', { text: 'id' }),
      el('th', { text: t('tokenName') }),
      el('th', { text: t('scope') }),
      el('th', { text: t('by') }),
      el('th', { text: t('created') }),
      el('th', { text: t('state') }),
    ),
  );
  try {
    const { tokens } = await call<{ tokens: Token[] }>('GET', '/api/v1/tokens');
    for (const tk of tokens) {
      const row = el('tr');
      row.dataset.token = String(tk.id);
      row.dataset.name = tk.name;
      const state = el('td', { text: tk.revoked ? `${t('revoked')} ${time(tk.revoked)}` : '' });
      if (!tk.revoked) {
        const revoke = el('button', { text: t('revoke'), attrs: { type: 'button' } });
        revoke.className = 'revoke';
        revoke.addEventListener('click', async () => {
          if (!window.confirm(`${t('revoke')}: ${tk.name}?`)) return;
          await call('DELETE', `/api/v1/tokens/${tk.id}`).catch(() => undefined);
          await loadTokens(box, changed);
          changed();
        });
        state.append(revoke);
      }
      row.append(
        el('td', { text: String(tk.id) }),
        el('td', { text: tk.name }),
        el('td', { text: tk.scope }),
        el('td', { text: tk.createdBy }),
        el('td', { text: time(tk.created) }),
        state,
      );
      table.append(row);
    }
    box.replaceChildren(el('h3', { text: t('tokens') }), table, create);
    if (shown) box.append(shown);
  } catch (err) {
    box.replaceChildren(
      el('h3', { text: t('tokens') }),
      el('p', { cls: 'error', text: `${t('failed')}: ${(err as Error).message}` }),
    );
  }
}

/** The audit trail: a window of records, newest first, filtered by action, actor and outcome. */
function createAudit(box: HTMLElement, isClosed: () => boolean): { reload(): Promise<void> } {
  let records: AuditRecord[] = [];
  let chain = '';
  let page = 0;
  const action = el('input', { attrs: { type: 'search', maxlength: '64', name: 'action' } });
  const actor = el('input', { attrs: { type: 'search', maxlength: '64', name: 'actor' } });
  const outcome = select('outcome', ['', 'ok', 'refused', 'failed']);
  (outcome.options[0] as HTMLOptionElement).textContent = t('all');
  const filters = el(
    'form',
    { cls: 'act audit-filters' },
    labelled('auditAction', action),
    labelled('auditActor', actor),
    labelled('auditOutcome', outcome),
  );
  // Export what the page holds (the newest window) through the API's CSV and NDJSON formats.
  const csv = el('a', { text: t('exportCsv'), attrs: { download: '' } });
  const ndjson = el('a', { text: t('exportNdjson'), attrs: { download: '' } });
  csv.className = 'export-csv';
  ndjson.className = 'export-ndjson';
  const exportLinks = el('p', { cls: 'audit-export' }, csv, document.createTextNode(' · '), ndjson);
  const status = el('p', { cls: 'note audit-status' });
  const table = el('table', { cls: 'admin-table audit' });
  const prev = el('button', { text: `← ${t('newer')}`, attrs: { type: 'button' } });
  const next = el('button', { text: `${t('older')} →`, attrs: { type: 'button' } });
  const pager = el('p', { cls: 'act audit-pager' }, prev, next);
  box.replaceChildren(el('h3', { text: t('auditLog') }), exportLinks, filters, status, table, pager);

  const filtered = () => {
    const a = action.value.trim().toLowerCase();
    const who = actor.value.trim().toLowerCase();
    return records.filter(
      (r) =>
        (!a || r.action.toLowerCase().includes(a)) &&
        (!who || r.actor.toLowerCase().includes(who)) &&
        (!outcome.value || r.outcome === outcome.value),
    );
  };
  const render = () => {
    const list = filtered();
    const pages = Math.max(1, Math.ceil(list.length / AUDIT_PAGE));
    page = Math.min(page, pages - 1);
    table.replaceChildren(
      el(
        'tr',
        {},
        el('th', { text: '#' }),
        el('th', { text: t('when') }),
        el('th', { text: t('auditActor') }),
        el('th', { text: t('address') }),
        el('th', { text: t('auditAction') }),
        el('th', { text: t('target') }),
        el('th', { text: t('auditOutcome') }),
        el('th', { text: t('detail') }),
      ),
    );
    for (const r of list.slice(page * AUDIT_PAGE, (page + 1) * AUDIT_PAGE)) {
      const row = el('tr');
      row.dataset.seq = String(r.seq);
      row.dataset.action = r.action;
      row.dataset.outcome = r.outcome;
      row.append(
        el('td', { text: String(r.seq) }),
        el('td', { text: time(r.ts) }),
        el('td', { text: r.actor }),
        el('td', { text: r.address }),
        el('td', { text: r.action }),
        el('td', { text: r.target }),
        el('td', { text: r.outcome, cls: r.outcome === 'ok' ? '' : 'stale' }),
        el('td', { text: JSON.stringify(r.detail), cls: 'detail' }),
      );
      table.append(row);
    }
    status.textContent = `${chain} · ${list.length} / ${records.length} · ${t('page')} ${page + 1} / ${pages}`;
    table.dataset.count = String(list.length);
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  filters.addEventListener('input', () => {
    page = 0;
    render();
  });
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  prev.addEventListener('click', () => {
    page--;
    render();
  });
  next.addEventListener('click', () => {
    page++;
    render();
  });

  return {
    async reload() {
      try {
        // The API pages forward from a sequence number: read to the end, keep the newest window.
        let after = 0;
        let window: AuditRecord[] = [];
        let verdict = { count: 0, problems: [] as unknown[] };
        for (;;) {
          const r = await call<{ records: AuditRecord[]; chain: { count: number; problems: unknown[] } }>(
            'GET',
            `/api/v1/audit?after=${after}&limit=${AUDIT_WINDOW}`,
          );
          verdict = r.chain;
          window = [...window, ...r.records].slice(-AUDIT_WINDOW);
          if (r.records.length < AUDIT_WINDOW || isClosed()) break;
          after = r.records.at(-1)?.seq ?? after;
        }
        if (isClosed()) return;
        // Exports start just before the oldest record held.
        const from = Math.max(0, (window[0]?.seq ?? 1) - 1);
        records = [...window].reverse();
        csv.href = `/api/v1/audit?format=csv&after=${from}&limit=${AUDIT_WINDOW}`;
        ndjson.href = `/api/v1/audit?format=ndjson&after=${from}&limit=${AUDIT_WINDOW}`;
        chain =
          verdict.problems.length === 0
            ? `${t('chainOk')} (${verdict.count})`
            : `${t('chainBroken')}: ${verdict.problems.length}`;
        status.classList.toggle('stale', verdict.problems.length > 0);
        render();
      } catch (err) {
        status.textContent = `${t('failed')}: ${(err as Error).message}`;
      }
    },
  };
}
