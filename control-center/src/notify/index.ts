/**
 * The notification subsystem: a durable outbox with channel plugins (webhook, e-mail), escalation of
 * unacknowledged alerts to officials, and the `notify:` configuration. Self-contained: it needs a
 * node:sqlite database with NOTIFY_MIGRATIONS applied, a clock and an audit sink. docs/notifications.md.
 */
export { auditSinkFor } from './audit-adapter.ts';
export { backoffMs, DEFAULT_RETRY, type RetryPolicy } from './backoff.ts';
export { type EmailOptions, emailChannel } from './channels/email.ts';
export { type WebhookBody, type WebhookOptions, webhookChannel } from './channels/webhook.ts';
export { type Clock, type ClockTimer, systemClock } from './clock.ts';
export {
  buildChannels,
  type ChannelSpec,
  NotifyConfig,
  type NotifyConfigResult,
  parseNotifyConfig,
  type ResolvedNotify,
} from './config.ts';
export { NotifyError, type NotifyErrorCode } from './errors.ts';
export {
  type AlertSource,
  Escalation,
  type EscalationChain,
  type EscalationContact,
  type EscalationOptions,
  type EscalationPolicy,
  type EscalationTier,
} from './escalation.ts';
export { type AlertUpdate, type NoticeKind, officialsMessage, reasonText } from './message.ts';
export { type Migration, NOTIFY_MIGRATIONS } from './migrations.ts';
export {
  type Delivery,
  type DeliveryState,
  type EnqueueInput,
  Outbox,
  type OutboxOptions,
  type OutboxStats,
} from './outbox.ts';
export type {
  AuditEntry,
  AuditSink,
  Channel,
  ChannelMessage,
  NotifyMessage,
  Recipient,
  SendResult,
} from './types.ts';
export {
  HEADER_DELIVERY,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  signWebhook,
  type VerifyResult,
  verifyWebhook,
} from './webhook-signature.ts';
