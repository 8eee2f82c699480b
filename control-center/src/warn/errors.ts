/**
 * Coded errors of the residents' warning subsystem. A code is never reused for another meaning.
 * SG_ERR_WARN_EPISODE: a CAP message that does not follow its episode (an update after the cancel,
 * a cancel with nothing to cancel, a drill mixed into a real episode); SG_ERR_WARN_SUBSCRIPTION: a
 * subscription request out of bounds (bad address, unknown area, malformed push keys);
 * SG_ERR_WARN_KEYS: the VAPID key file is unreadable, malformed or readable by others.
 */
export type WarnErrorCode = 'SG_ERR_WARN_EPISODE' | 'SG_ERR_WARN_SUBSCRIPTION' | 'SG_ERR_WARN_KEYS';

export class WarnError extends Error {
  readonly code: WarnErrorCode;
  constructor(code: WarnErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'WarnError';
  }
}
