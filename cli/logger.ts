import pino, { type Logger } from 'pino';

/** The process logger: JSON lines on stderr (journald and log shippers read it), level from the CLI. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      redact: ['password', '*.password', 'secret', '*.secret'],
    },
    pino.destination(2),
  );
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
