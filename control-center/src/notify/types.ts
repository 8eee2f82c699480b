import type { Level } from '@slopeguard/core';

/**
 * What a channel delivers: a short subject, the plain text, and structured data for machine
 * receivers (webhooks). The same message goes to every contact of a tier.
 */
export interface NotifyMessage {
  subject: string;
  text: string;
  data?: Record<string, unknown>;
}

/**
 * Who receives it. `id` is a label from the configuration ("duty-officer", "mayor-office") and is
 * what logs and the audit show; `address` (an e-mail address, a phone number for an SMS gateway)
 * is personal data and never leaves the channel and the operational database.
 */
export interface Recipient {
  id: string;
  address: string;
}

/** A message as handed to a channel: the outbox adds the delivery id (the idempotency key). */
export interface ChannelMessage extends NotifyMessage {
  /** Stable across retries and restarts: receivers de-duplicate on it. */
  deliveryId: string;
  alertId: string;
  level: Level;
  /** Which notice of the alert this is ("g1.r0" first notice, "g1.r2" second reminder, "clear"). */
  round: string;
  /**
   * A one-click unsubscribe URL (RFC 8058), set by the residents' e-mail channel for warnings: the
   * e-mail channel sends it as `List-Unsubscribe` with `List-Unsubscribe-Post`. Never stored.
   */
  listUnsubscribe?: string;
}

/**
 * The outcome of one attempt. A permanent failure (the receiver refused the message itself: HTTP 4xx,
 * SMTP 5xx) is not retried; a transient one (timeout, refused connection, HTTP 5xx, SMTP 4xx) is, with
 * backoff, and `retryAfterMs` (HTTP Retry-After) lengthens the wait.
 */
export type SendResult =
  | { ok: true; info?: string }
  | { ok: false; permanent: boolean; error: string; retryAfterMs?: number };

/**
 * A notification channel: one plugin per kind (webhook, email, later web push and CAP). `send` must
 * not throw (the outbox catches it anyway and counts a throw as a transient failure).
 */
export interface Channel {
  /** The configured name, e.g. "sms-gateway"; rows of the outbox refer to it. */
  readonly id: string;
  readonly kind: string;
  send(message: ChannelMessage, recipient: Recipient): Promise<SendResult>;
  /** Strings that must never appear in a log line or a stored error (keys, passwords, URLs with tokens). */
  secrets(): readonly string[];
  close?(): Promise<void>;
}

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** Where "notification sent/failed" goes; the control center's audit log implements it. */
export interface AuditSink {
  record(entry: AuditEntry): void | Promise<void>;
}
