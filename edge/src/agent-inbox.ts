import { type CommandAck, type CommandResult, type DecodeResult, decode, parseTopic } from '@slopeguard/core';
import type { Logger } from 'pino';
import { commandId } from './agent-support.ts';
import type { Alarm } from './alarm.ts';
import type { ClockCheck } from './clock-check.ts';
import { type CommandGuard, type CommandHandler, runCommand } from './commands.ts';
import type { Signboard } from './outputs/signboard.ts';

/** Refused notices are logged at most once per this interval, with the count. */
const NOTICE_REFUSAL_LOG_MS = 60_000;

export interface InboxContext {
  log: Logger;
  now(): number;
  clockCheck: ClockCheck;
  commandGuard: CommandGuard;
  alarm(): Alarm;
  signboards(): readonly Signboard[];
  handlers(): Record<string, CommandHandler>;
  /** Publishes the ack on `.../cmd/ack`; never throws. */
  ack(ack: CommandAck): Promise<void>;
}

/**
 * What the gateway receives from the broker, routed by topic: the broker's clock (to check ours),
 * the site's official level (the alarm follows it), the notices of the sites the signboards show, and
 * commands (run at most once, acknowledged).
 * Every payload is decoded by core's `decode` against its channel's schema; a bad one is logged and,
 * for a command with a readable id, answered with a negative ack.
 */
export class AgentInbox {
  readonly #c: InboxContext;
  /** Notices refused since start, and when a refusal was last logged. */
  #noticesRefused = 0;
  #noticeLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(c: InboxContext) {
    this.#c = c;
  }

  async onMessage(topic: string, payload: Buffer, retain: boolean): Promise<void> {
    const c = this.#c;
    const channel = parseTopic(topic)?.channel;
    // The clock check decodes (and counts refusals of) the broker's ticks itself.
    if (channel === 'clock') return c.clockCheck.onTick(payload, c.now());
    if (channel === 'level') return this.#onLevel(decode(topic, payload));
    if (channel === 'notice') {
      // A zero-length payload is the control center clearing the retained notice: blank the board.
      if (payload.length === 0) return this.#onNoticeCleared(topic);
      return this.#onNotice(decode(topic, payload));
    }
    if (channel !== 'cmd') return;
    if (c.commandGuard.retained(retain, commandId(payload))) return;
    const m = decode(topic, payload);
    if (!m.ok || m.channel !== 'cmd') {
      const errors = m.ok ? [] : m.errors;
      c.log.warn({ errors }, 'command refused');
      const id = commandId(payload);
      if (id) await this.#ack({ id, ok: false, error: `invalid command: ${errors.join('; ')}` });
      return;
    }
    const cmd = m.value;
    if (!c.commandGuard.admit(cmd.id)) return;
    const outcome = await runCommand(cmd, c.handlers());
    c.log.info({ command: cmd.name, id: cmd.id, ok: outcome.ok, error: outcome.error }, 'command');
    await this.#ack({ id: cmd.id, ...outcome });
  }

  #onLevel(m: DecodeResult): void {
    if (!m.ok) return void this.#c.log.warn({ errors: m.errors }, 'official level refused');
    if (m.channel !== 'level') return;
    const alarm = this.#c.alarm();
    if (m.value.level !== alarm.official) this.#c.log.info({ level: m.value.level }, 'official level');
    alarm.setOfficial(m.value.level);
  }

  get noticesRefused(): number {
    return this.#noticesRefused;
  }

  #onNotice(m: DecodeResult): void {
    const c = this.#c;
    if (!m.ok) return void this.#refuseNotice(m.errors);
    if (m.channel !== 'notice' || m.topic.scope !== 'site') return;
    // A notice stamped further ahead than the allowed skew is refused like a malformed one: a board
    // must not show a message whose time (or sender's clock) cannot be trusted.
    if (m.value.ts - c.now() > c.clockCheck.maxSkewMs) {
      return void this.#refuseNotice([`ts ${m.value.ts} is ahead of the gateway's clock`]);
    }
    const { site } = m.topic;
    for (const board of c.signboards()) board.show(site, m.value);
  }

  #onNoticeCleared(topic: string): void {
    const t = parseTopic(topic);
    if (t?.scope !== 'site') return;
    const now = this.#c.now();
    for (const board of this.#c.signboards()) board.clear(t.site, now);
  }

  /** Counts every refusal; logs the first, then at most one line a minute with the count. */
  #refuseNotice(errors: string[]): void {
    this.#noticesRefused++;
    const now = this.#c.now();
    if (now - this.#noticeLoggedAt < NOTICE_REFUSAL_LOG_MS) return;
    this.#noticeLoggedAt = now;
    this.#c.log.warn(
      { errors: errors.slice(0, 5), refused: this.#noticesRefused },
      'site notice refused (further refusals within a minute are only counted)',
    );
  }

  #ack(a: { id: string; ok: boolean; error?: string; result?: CommandResult }): Promise<void> {
    return this.#c.ack({
      id: a.id,
      ok: a.ok,
      ts: this.#c.now(),
      ...(a.error ? { error: a.error } : {}),
      ...(a.result !== undefined ? { result: a.result } : {}),
    });
  }
}
