import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditSink } from './types.ts';

/**
 * The notify subsystem's narrow audit sink on the control center's hash-chained audit log. A
 * delivery is the system's own action, from this machine ("local", as the CLI's records); a final
 * failure is recorded with outcome `failed`. The details carry the contact's label, never its address.
 */
export function auditSinkFor(log: Pick<AuditLog, 'append'>): AuditSink {
  return {
    record(entry) {
      // The outbox records only a delivery and a final failure; the audit trail's actions are a
      // closed list (audit/actions.ts), so they are named here.
      const failed = entry.action.endsWith('.failed');
      log.append({
        actor: entry.actor,
        address: 'local',
        action: failed ? 'notification.failed' : 'notification.sent',
        target: entry.target,
        outcome: failed ? 'failed' : 'ok',
        detail: entry.details,
      });
    },
  };
}
