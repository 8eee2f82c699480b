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
      log.append({
        actor: entry.actor,
        address: 'local',
        action: entry.action,
        target: entry.target,
        outcome: entry.action.endsWith('.failed') ? 'failed' : 'ok',
        detail: entry.details,
      });
    },
  };
}
