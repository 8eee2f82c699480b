import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The one logger factory of every Slopeguard process. Why here: the gateway, the broker and the
 * control center must redact the same fields, and a line must name its component once.
 *
 * pino writes a child's bindings after its parent's, so `parent.child({component: 'x'})` under a
 * parent bound to another component puts `"component"` twice into one JSON line (most log tools keep
 * the first, JSON.parse the last). `childLogger` builds every child from the root with the merged
 * bindings instead, so each key appears once and the innermost value wins.
 */

/** Fields never written to a log, at the top level or one level down (pino's redact paths). */
export const REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  'privateKey',
  '*.privateKey',
];

export type LogBindings = Record<string, unknown>;

const lineage = new WeakMap<Logger, { root: Logger; bindings: LogBindings }>();

export interface LoggerOptions {
  level: string;
  /** 1 = stdout (the gateway, for journald), 2 = stderr (the CLI's default). */
  fd?: 1 | 2;
  /** Write each line before returning (the last line before a crash must not be lost). */
  sync?: boolean;
  bindings?: LogBindings;
  /** Instead of `fd`: where the lines go (tests read them). */
  stream?: DestinationStream;
}

/** A process's root logger: JSON lines, `pid`, the shared redaction, then `bindings` once. */
export function createLogger(o: LoggerOptions): Logger {
  const root = pino(
    { level: o.level, base: { pid: process.pid }, redact: [...REDACT_PATHS] },
    o.stream ?? pino.destination({ fd: o.fd ?? 2, sync: o.sync ?? false }),
  );
  lineage.set(root, { root, bindings: {} });
  return o.bindings ? childLogger(root, o.bindings) : root;
}

/**
 * A child of `parent` with `bindings` added; a key the parent already binds (`component`, `part`)
 * is replaced, not repeated. A logger made elsewhere (a test's `pino()`) counts as a root.
 */
export function childLogger(parent: Logger, bindings: LogBindings): Logger {
  const from = lineage.get(parent) ?? { root: parent, bindings: {} };
  const merged = { ...from.bindings, ...bindings };
  const child = from.root.child(merged);
  lineage.set(child, { root: from.root, bindings: merged });
  return child;
}
