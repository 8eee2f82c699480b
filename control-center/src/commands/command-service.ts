import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { type Command, type CommandAck, type CommandArgs, gatewayTopic, type Topic } from '@slopeguard/core';

/**
 * Gateway commands from the API: each is recorded (who, what, when), published on the gateway's
 * `cmd` topic through the contract, and answered by the gateway's `cmd/ack` or, failing that,
 * marked `timeout`. Every state change is handed to `onChange` (socket.io pushes it).
 */
export const COMMAND_NAMES = [
  'set-sampling-interval',
  'test-siren',
  'health-report',
  'release-local',
  'reload-config',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface CommandRecord {
  id: string;
  site: string;
  gateway: string;
  name: string;
  args: CommandArgs;
  actor: string;
  sent: number;
  status: 'sent' | 'acked' | 'failed' | 'timeout';
  answered: number | null;
  result: unknown;
  error: string | null;
}

export interface CommandServiceOptions {
  db: DatabaseSync;
  publish: (topic: Topic<'cmd'>, cmd: Command) => Promise<void>;
  now: () => number;
  timeoutMs: number;
  onChange: (c: CommandRecord) => void;
}

type Row = Omit<CommandRecord, 'args' | 'result'> & { args: string; result: string | null };
const toRecord = (r: Row): CommandRecord => ({
  ...r,
  args: JSON.parse(r.args) as CommandArgs,
  result: r.result === null ? null : (JSON.parse(r.result) as unknown),
});

export class CommandService {
  readonly #o: CommandServiceOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(options: CommandServiceOptions) {
    this.#o = options;
    // Commands still waiting when the previous run stopped can no longer be matched in time.
    options.db
      .prepare(
        "UPDATE commands SET status = 'timeout', answered = ?, error = 'control center restarted' WHERE status = 'sent'",
      )
      .run(options.now());
  }

  get(id: string): CommandRecord | undefined {
    const r = this.#o.db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  list(site: string, gateway: string, limit = 50): CommandRecord[] {
    return (
      this.#o.db
        .prepare('SELECT * FROM commands WHERE site = ? AND gateway = ? ORDER BY sent DESC LIMIT ?')
        .all(site, gateway, Math.min(limit, 500)) as Row[]
    ).map(toRecord);
  }

  async send(
    site: string,
    gateway: string,
    name: CommandName,
    args: CommandArgs,
    actor: string,
  ): Promise<CommandRecord> {
    const id = randomUUID();
    const sent = this.#o.now();
    this.#o.db
      .prepare(
        "INSERT INTO commands (id, site, gateway, name, args, actor, sent, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'sent')",
      )
      .run(id, site, gateway, name, JSON.stringify(args), actor, sent);
    const timer = setTimeout(
      () => this.#finish(id, 'timeout', null, 'no ack within the timeout'),
      this.#o.timeoutMs,
    );
    timer.unref();
    this.#timers.set(id, timer);
    await this.#o.publish(gatewayTopic(site, gateway, 'cmd'), { id, name, args });
    return this.get(id) as CommandRecord;
  }

  /** A `cmd/ack` from a gateway: only for a command sent to that very gateway and still waiting. */
  onAck(site: string, gateway: string, ack: CommandAck): void {
    const c = this.get(ack.id);
    if (!c || c.site !== site || c.gateway !== gateway || c.status !== 'sent') return;
    this.#finish(ack.id, ack.ok ? 'acked' : 'failed', ack.result ?? null, ack.error ?? null);
  }

  #finish(id: string, status: CommandRecord['status'], result: unknown, error: string | null): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    const changed = this.#o.db
      .prepare(
        "UPDATE commands SET status = ?, answered = ?, result = ?, error = ? WHERE id = ? AND status = 'sent'",
      )
      .run(status, this.#o.now(), result === null ? null : JSON.stringify(result), error, id);
    if (changed.changes > 0) this.#o.onChange(this.get(id) as CommandRecord);
  }

  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
