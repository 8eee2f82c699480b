import type { Command, CommandResult } from '@slopeguard/core';

/**
 * Commands from the control center on `.../cmd`, each answered on `.../cmd/ack` (CommandAck). A
 * handler returns a result or throws CommandRefused; an unknown name gets a negative ack.
 *   set-sampling-interval {ms, driver?}   test-siren {seconds?, output?}
 *   reload-config {}                      health-report {}            release-local {operator}
 */
export class CommandRefused extends Error {
  readonly code = 'SG_ERR_EDGE_COMMAND';
}

export type CommandHandler = (
  args: Record<string, unknown>,
) => Promise<CommandResult | undefined> | CommandResult | undefined;

export interface CommandOutcome {
  ok: boolean;
  result?: CommandResult;
  error?: string;
}

export async function runCommand(
  cmd: Command,
  handlers: Record<string, CommandHandler>,
): Promise<CommandOutcome> {
  const handler = Object.hasOwn(handlers, cmd.name) ? handlers[cmd.name] : undefined;
  if (!handler) return { ok: false, error: `unknown command ${JSON.stringify(cmd.name)}` };
  try {
    const result = await handler(cmd.args ?? {});
    return result === undefined ? { ok: true } : { ok: true, result };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export function intArg(
  args: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  const v = args[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new CommandRefused(`args.${name} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

export function stringArg(args: Record<string, unknown>, name: string): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 64)
    throw new CommandRefused(`args.${name} must be a string`);
  return v;
}

/** Where the ledger keeps its ids: the queue's meta table (ReadingQueue.saveState/loadState). */
export interface StateStore {
  loadState(key: string): unknown;
  saveState(key: string, value: unknown): void;
}

const LEDGER_KEY = 'commands.executed';
/** Ids kept; an id older than the last 1,000 commands could run again (ids are unique per command). */
export const COMMAND_IDS_KEPT = 1000;

/**
 * Ids of the commands this gateway has run, the newest `max`, in the queue's SQLite meta table. An id
 * is claimed (committed) before its command runs, so a command runs at most once, also across
 * restarts and a process killed while it runs: a replay of the same id (a resend, a retained copy
 * that slipped through, an attacker's recording) is refused.
 */
export class CommandLedger {
  readonly #store: StateStore;
  readonly #max: number;
  readonly #ids: string[];
  readonly #known: Set<string>;

  constructor(store: StateStore, max = COMMAND_IDS_KEPT) {
    this.#store = store;
    this.#max = max;
    const saved = store.loadState(LEDGER_KEY);
    this.#ids = Array.isArray(saved)
      ? saved.filter((v): v is string => typeof v === 'string').slice(-max)
      : [];
    this.#known = new Set(this.#ids);
  }

  /** True (and recorded durably) the first time `id` is seen; false for an id already run. */
  claim(id: string): boolean {
    if (this.#known.has(id)) return false;
    this.#ids.push(id);
    this.#known.add(id);
    while (this.#ids.length > this.#max) this.#known.delete(this.#ids.shift() as string);
    this.#store.saveState(LEDGER_KEY, this.#ids);
    return true;
  }
}

export type CommandRefusal = 'retained' | 'duplicate';

export interface CommandGuardLog {
  warn(fields: object, msg: string): void;
}

/**
 * Decides whether a received command may run: never a retained one (the contract says `cmd` is not
 * retained; a retained `test-siren` would sound after every reconnect), never an id that already ran.
 * Neither is answered on `cmd/ack` (the first delivery of an id was answered; a retained copy is not
 * a request). Refusals are counted and logged at most once per reason every `logEveryMs`, with the
 * number refused since the last line, so a flood of replays cannot flood the log.
 */
export class CommandGuard {
  readonly refused: Record<CommandRefusal, number> = { retained: 0, duplicate: 0 };
  readonly #ledger: CommandLedger;
  readonly #log: CommandGuardLog;
  readonly #now: () => number;
  readonly #logEveryMs: number;
  readonly #lastLog = new Map<CommandRefusal, { at: number; refusedThen: number }>();

  constructor(
    ledger: CommandLedger,
    log: CommandGuardLog,
    now: () => number = Date.now,
    logEveryMs = 10_000,
  ) {
    this.#ledger = ledger;
    this.#log = log;
    this.#now = now;
    this.#logEveryMs = logEveryMs;
  }

  /** Call before decoding: a retained command is ignored whatever it contains. */
  retained(retain: boolean, id: string | undefined): boolean {
    if (!retain) return false;
    this.#refuse('retained', id);
    return true;
  }

  /** Call with a valid command's id just before running it: false = do not run. */
  admit(id: string): boolean {
    if (this.#ledger.claim(id)) return true;
    this.#refuse('duplicate', id);
    return false;
  }

  #refuse(reason: CommandRefusal, id: string | undefined): void {
    this.refused[reason]++;
    const last = this.#lastLog.get(reason);
    const t = this.#now();
    if (last && t - last.at < this.#logEveryMs) return;
    const since = last ? this.refused[reason] - last.refusedThen - 1 : 0;
    this.#lastLog.set(reason, { at: t, refusedThen: this.refused[reason] });
    this.#log.warn(
      { reason, id, refusedTotal: this.refused[reason], suppressedSinceLastLine: since },
      reason === 'retained' ? 'retained command ignored' : 'command id already run; ignored',
    );
  }
}
