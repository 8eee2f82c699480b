/**
 * The admin page (`#/admin`, admins only; main.ts hides it from others and the server refuses them
 * anyway): users (list, add, disable, enable again, password reset), API tokens (list, create with the secret
 * shown once, revoke) and the audit trail (filtered and paged by the server, newest first; export
 * as CSV or NDJSON through `GET /api/v1/audit`). Every change goes through the admin API, which audits it.
 */
import { AUDIT_ACTIONS, AUDIT_FAMILIES } from '../src/audit/actions.ts';
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
/** Records a page shows, and the most an export link asks for (the API's bound). */
const AUDIT_PAGE = 50;
const AUDIT_EXPORT = 10_000;

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

/**
 * The audit trail, filtered and paged by the server (`GET /api/v1/audit`): newest first, a page of
 * 50; "Older" asks for the records below the last one shown (`before`), "Newer" goes back. The
 * chain verdict is the server's check of the records shown; the whole trail is checked on request.
 * Exports carry the same filters, from the page shown back, up to the API's 10,000.
 */
function createAudit(box: HTMLElement, isClosed: () => boolean): { reload(): Promise<void> } {
  /** Cursors of the pages shown before this one (undefined: the newest page). */
  const cursors: Array<number | undefined> = [];
  let cursor: number | undefined;
  let next: number | null = null;
  let seen = 0;
  const known = el('datalist', { attrs: { id: 'audit-actions' } });
  for (const a of [...AUDIT_FAMILIES, ...AUDIT_ACTIONS]) known.append(el('option', { attrs: { value: a } }));
  const action = el('input', {
    attrs: { type: 'search', maxlength: '64', name: 'action', list: 'audit-actions', autocomplete: 'off' },
  });
  const actor = el('input', { attrs: { type: 'search', maxlength: '64', name: 'actor' } });
  const target = el('input', { attrs: { type: 'search', maxlength: '200', name: 'target' } });
  const outcome = select('outcome', ['', 'ok', 'refused', 'failed']);
  (outcome.options[0] as HTMLOptionElement).textContent = t('all');
  const from = el('input', { attrs: { type: 'datetime-local', name: 'from' } });
  const to = el('input', { attrs: { type: 'datetime-local', name: 'to' } });
  const filters = el(
    'form',
    { cls: 'act audit-filters' },
    labelled('auditAction', action),
    known,
    labelled('auditActor', actor),
    labelled('target', target),
    labelled('auditOutcome', outcome),
    labelled('auditFrom', from),
    labelled('auditTo', to),
  );
  const csv = el('a', { text: t('exportCsv'), attrs: { download: '' } });
  const ndjson = el('a', { text: t('exportNdjson'), attrs: { download: '' } });
  csv.className = 'export-csv';
  ndjson.className = 'export-ndjson';
  const exportLinks = el('p', { cls: 'audit-export' }, csv, document.createTextNode(' · '), ndjson);
  const status = el('p', { cls: 'note audit-status', attrs: { role: 'status' } });
  const verifyAll = el('button', { text: t('verifyAll'), attrs: { type: 'button' } });
  verifyAll.className = 'audit-verify';
  const whole = el('span', { cls: 'audit-whole', attrs: { role: 'status' } });
  const table = el('table', { cls: 'admin-table audit' });
  const prev = el('button', { text: `← ${t('newer')}`, attrs: { type: 'button' } });
  const next_ = el('button', { text: `${t('older')} →`, attrs: { type: 'button' } });
  const pager = el('p', { cls: 'act audit-pager' }, prev, next_);
  box.replaceChildren(
    el('h3', { text: t('auditLog') }),
    exportLinks,
    filters,
    el('p', { cls: 'act' }, verifyAll, whole),
    status,
    table,
    pager,
  );

  /** The filters as query parameters; undefined while the action is not one the server knows. */
  const query = (): URLSearchParams | undefined => {
    const q = new URLSearchParams();
    // "token." as well as "token": a family.
    const a = action.value.trim().replace(/\.$/, '');
    if (a) {
      if (!(AUDIT_ACTIONS as readonly string[]).includes(a) && !AUDIT_FAMILIES.includes(a)) return undefined;
      q.set('action', a);
    }
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (target.value.trim()) q.set('target', target.value.trim());
    if (outcome.value) q.set('outcome', outcome.value);
    // datetime-local is the browser's local time; the API gets it with its zone (as UTC).
    if (from.value) q.set('from', new Date(from.value).toISOString());
    if (to.value) q.set('to', new Date(to.value).toISOString());
    return q;
  };

  const render = (records: AuditRecord[]) => {
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
    for (const r of records) {
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
    table.dataset.count = String(records.length);
  };

  /** The export links follow the form at once (not the page's next answer). */
  const exports = (q: URLSearchParams | undefined) => {
    for (const [a, format] of [
      [csv, 'csv'],
      [ndjson, 'ndjson'],
    ] as const) {
      if (!q) {
        a.removeAttribute('href');
        continue;
      }
      const exp = new URLSearchParams(q);
      exp.set('limit', String(AUDIT_EXPORT));
      if (cursor !== undefined) exp.set('before', String(cursor));
      a.href = `/api/v1/audit?format=${format}&${exp}`;
    }
  };

  let asked = 0;
  const load = async () => {
    const q = query();
    if (!q) {
      exports(q);
      status.textContent = t('unknownAction');
      status.classList.add('stale');
      return;
    }
    const mine = ++asked;
    const page = new URLSearchParams(q);
    page.set('limit', String(AUDIT_PAGE));
    if (cursor !== undefined) page.set('before', String(cursor));
    exports(q);
    try {
      const r = await call<{
        records: AuditRecord[];
        next: number | null;
        chain: { count: number; problems: unknown[] };
      }>('GET', `/api/v1/audit?${page}`);
      // A later request (a filter typed meanwhile) wins; a closed page draws nothing.
      if (mine !== asked || isClosed()) return;
      next = r.next;
      seen = cursors.length * AUDIT_PAGE + r.records.length;
      render(r.records);
      const broken = r.chain.problems.length > 0;
      const chain = broken
        ? `${t('chainBroken')}: ${r.chain.problems.length}`
        : `${t('chainOk')} (${r.chain.count}, ${t('chainShown')})`;
      const where = r.records.length
        ? `#${r.records[0]?.seq}–${r.records.at(-1)?.seq} · ${seen - r.records.length + 1}–${seen}`
        : t('noRecords');
      status.textContent = `${chain} · ${where} · ${t('page')} ${cursors.length + 1}`;
      status.classList.toggle('stale', broken);
      prev.disabled = cursors.length === 0;
      next_.disabled = next === null;
    } catch (err) {
      if (mine === asked) status.textContent = `${t('failed')}: ${(err as Error).message}`;
    }
  };
  const first = () => {
    cursors.length = 0;
    cursor = undefined;
    return load();
  };

  // Typing waits for a pause: one request per pause, not per key.
  let typing: ReturnType<typeof setTimeout> | undefined;
  filters.addEventListener('input', () => {
    cursors.length = 0;
    cursor = undefined;
    exports(query());
    clearTimeout(typing);
    typing = setTimeout(() => void first(), 300);
  });
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearTimeout(typing);
    void first();
  });
  prev.addEventListener('click', () => {
    cursor = cursors.pop();
    void load();
  });
  next_.addEventListener('click', () => {
    if (next === null) return;
    cursors.push(cursor);
    cursor = next;
    void load();
  });
  verifyAll.addEventListener('click', async () => {
    whole.textContent = '…';
    try {
      const v = await call<{ count: number; problems: Array<{ seq: number; problem: string }> }>(
        'GET',
        '/api/v1/audit/verify',
      );
      whole.textContent =
        v.problems.length === 0
          ? `${t('chainOk')} (${v.count})`
          : `${t('chainBroken')}: ${v.problems
              .slice(0, 5)
              .map((p) => `#${p.seq} ${p.problem}`)
              .join(', ')}${v.problems.length > 5 ? ' …' : ''} (${v.problems.length})`;
      whole.classList.toggle('stale', v.problems.length > 0);
    } catch (err) {
      whole.textContent = `${t('failed')}: ${(err as Error).message}`;
    }
  });

  // After a change elsewhere on the page (a user added...): the newest page again.
  return { reload: first };
}
