/**
 * Every action the audit trail records, in one closed list: a record's action must be one of them
 * (the type of `AuditInput.action`), so the audit API can refuse a filter on an action that does not
 * exist instead of answering an empty page that looks like "nobody did it". The part before the
 * first dot is the action's family (`user`, `session`, ...); a filter may name a family.
 * No node imports: the admin page reads this list too.
 */
export const AUDIT_ACTIONS = [
  'session.sign_in',
  'session.sign_out',
  'user.add',
  'user.disable',
  'user.enable',
  'user.passwd',
  'token.create',
  'token.revoke',
  'alert.ack',
  'alert.comment',
  'site.manual_level',
  'site.release',
  'gateway.command',
  'gateway.command_answer',
  'backtest.run',
  'open_data.export',
  'warn.drill',
  'warn.subscribers.view',
  'notification.sent',
  'notification.failed',
  // A state-changing request whose route names no action of its own (none does today; the
  // route-security test keeps every route audited under its own name).
  'http.request',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_FAMILIES: readonly string[] = [
  ...new Set(AUDIT_ACTIONS.map((a) => a.split('.')[0] as string)),
];

export function isAuditAction(s: string): s is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(s);
}

/** A filter value is an action (`user.add`) or a family (`user`); anything else is unknown. */
export function isAuditActionFilter(s: string): boolean {
  return isAuditAction(s) || AUDIT_FAMILIES.includes(s);
}
