import { createLogger as createProcessLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';

/**
 * The process logger: JSON lines on stderr (journald and log shippers read it), level from the CLI,
 * the redaction shared by every component (core/src/log.ts), `bindings` bound once.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return createProcessLogger({ level, fd: 2, bindings });
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
