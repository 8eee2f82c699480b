/**
 * Coded errors of the notification subsystem. A code is never reused for another meaning.
 * SG_ERR_NOTIFY_CHANNEL: a channel name that is not configured, or configured twice;
 * SG_ERR_NOTIFY_MESSAGE: a message or recipient out of bounds. (Configuration problems are returned
 * as a list by parseNotifyConfig, not thrown.)
 */
export type NotifyErrorCode = 'SG_ERR_NOTIFY_CHANNEL' | 'SG_ERR_NOTIFY_MESSAGE';

export class NotifyError extends Error {
  readonly code: NotifyErrorCode;
  constructor(code: NotifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'NotifyError';
  }
}
