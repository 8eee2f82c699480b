/**
 * Coded errors of the notification subsystem. A code is never reused for another meaning.
 * SG_ERR_NOTIFY_CONFIG: the `notify:` section; SG_ERR_NOTIFY_CHANNEL: a channel name that is not
 * configured; SG_ERR_NOTIFY_MESSAGE: a message or recipient out of bounds; SG_ERR_NOTIFY_CLOSED: the
 * outbox was stopped.
 */
export type NotifyErrorCode =
  | 'SG_ERR_NOTIFY_CONFIG'
  | 'SG_ERR_NOTIFY_CHANNEL'
  | 'SG_ERR_NOTIFY_MESSAGE'
  | 'SG_ERR_NOTIFY_CLOSED';

export class NotifyError extends Error {
  readonly code: NotifyErrorCode;
  constructor(code: NotifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'NotifyError';
  }
}
