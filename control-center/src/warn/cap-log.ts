import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Area, MessageKind } from './area.ts';
import { buildCap, type CapMessage, type CapMsgType, capToken } from './cap.ts';
import { WarnError } from './errors.ts';

/**
 * The CAP messages of every episode, kept in the operational database (table warn_cap_messages).
 * An episode is one warning of one area, from its first resident level to its all-clear; the caller
 * names it (the control center's alert id). `publish` decides the message type from what the episode
 * already has: the first message is an Alert, later ones Updates, the all-clear a Cancel, each
 * referencing all earlier ones. Publishing the same kind twice in a row returns the stored message
 * (a restart that re-runs the trigger publishes nothing new), so the feed shows each change once.
 */
export interface CapLogOptions {
  db: DatabaseSync;
  /** The CAP sender, e.g. "slopeguard@seocho.go.kr". */
  sender: string;
  /** Prefix of identifiers, unique to this installation, e.g. "kr.go.seocho.slopeguard". */
  idPrefix: string;
}

export interface PublishInput {
  area: Area;
  episode: string;
  kind: MessageKind;
  exercise: boolean;
  at: number;
  /** The area's public page for `<web>`. */
  web?: string;
}

export interface CapRecord {
  seq: number;
  identifier: string;
  sender: string;
  area: string;
  episode: string;
  msgType: CapMsgType;
  kind: MessageKind;
  exercise: boolean;
  sent: string;
  sentAt: number;
  headline: string;
}

interface Row {
  seq: number;
  identifier: string;
  sender: string;
  area: string;
  episode: string;
  msg_type: string;
  kind: string;
  exercise: number;
  sent: string;
  sent_at: number;
  headline: string;
}

export class CapLog {
  readonly #sender: string;
  readonly #prefix: string;
  readonly #st: ReturnType<typeof prepare>;

  constructor(opts: CapLogOptions) {
    this.#sender = capToken(opts.sender);
    this.#prefix = capToken(opts.idPrefix);
    this.#st = prepare(opts.db);
  }

  publish(input: PublishInput): { message: CapMessage; record: CapRecord; created: boolean } {
    const earlier = (
      this.#st.episode.all({ area: input.area.id, episode: input.episode }) as unknown as Row[]
    ).map(toRecord);
    const last = earlier[earlier.length - 1];
    if (last && last.kind === input.kind && last.exercise === input.exercise) {
      const xml = this.xml(last.identifier) ?? '';
      return {
        message: {
          identifier: last.identifier,
          sender: last.sender,
          sent: last.sent,
          msgType: last.msgType,
          xml,
        },
        record: last,
        created: false,
      };
    }
    if (last?.msgType === 'Cancel')
      throw new WarnError(
        'SG_ERR_WARN_EPISODE',
        `episode ${input.episode} of ${input.area.id} was cancelled`,
      );
    if (!last && input.kind === 'all_clear')
      throw new WarnError(
        'SG_ERR_WARN_EPISODE',
        `episode ${input.episode} of ${input.area.id} has nothing to clear`,
      );
    const first = earlier[0];
    if (first && first.exercise !== input.exercise)
      throw new WarnError('SG_ERR_WARN_EPISODE', 'a drill and a real warning cannot share an episode');
    const msgType: CapMsgType = !last ? 'Alert' : input.kind === 'all_clear' ? 'Cancel' : 'Update';
    const identifier = `${this.#prefix}.${input.area.id}.${capToken(input.episode)}.${earlier.length + 1}`;
    const message = buildCap({
      identifier,
      sender: this.#sender,
      sentAt: input.at,
      msgType,
      exercise: input.exercise,
      area: input.area,
      kind: input.kind,
      references: earlier.map((r) => ({ sender: r.sender, identifier: r.identifier, sent: r.sent })),
      incident: `${input.area.id}.${input.episode}`,
      web: input.web,
    });
    const headline = /<headline>([^<]*)<\/headline>/.exec(message.xml)?.[1] ?? '';
    const info = this.#st.insert.run({
      identifier: message.identifier,
      sender: message.sender,
      area: input.area.id,
      episode: input.episode,
      msg_type: msgType,
      kind: input.kind,
      exercise: input.exercise ? 1 : 0,
      sent: message.sent,
      sent_at: input.at,
      headline: unescapeXml(headline),
      xml: message.xml,
    });
    const record = toRecord(this.#st.bySeq.get({ seq: info.lastInsertRowid }) as unknown as Row);
    return { message, record, created: true };
  }

  /** The message as published, for /cap/alerts/{identifier}.xml. */
  xml(identifier: string): string | undefined {
    const r = this.#st.xml.get({ identifier }) as { xml: string } | undefined;
    return r?.xml;
  }

  /**
   * The newest message of the area's episodes whose name starts with `episodePrefix` ("alert-" for
   * the level trigger, "drill-" for drills): the trigger's memory of what it has published, read
   * from the same rows it writes, so a restart resumes the episode instead of starting another.
   */
  latestOf(area: string, episodePrefix: string): CapRecord | undefined {
    const r = this.#st.latestOf.get({ area, prefix: `${episodePrefix}%` }) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** True when the area already has messages of this episode. */
  hasEpisode(area: string, episode: string): boolean {
    return this.#st.episode.get({ area, episode }) !== undefined;
  }

  /** Newest first; of one area when `area` is given. */
  recent(opts: { area?: string; limit?: number } = {}): CapRecord[] {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
    const rows = opts.area
      ? this.#st.recentArea.all({ area: opts.area, limit })
      : this.#st.recent.all({ limit });
    return (rows as unknown as Row[]).map(toRecord);
  }
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function toRecord(r: Row): CapRecord {
  return {
    seq: r.seq,
    identifier: r.identifier,
    sender: r.sender,
    area: r.area,
    episode: r.episode,
    msgType: r.msg_type as CapMsgType,
    kind: r.kind as MessageKind,
    exercise: r.exercise === 1,
    sent: r.sent,
    sentAt: r.sent_at,
    headline: r.headline,
  };
}

const COLUMNS = 'seq, identifier, sender, area, episode, msg_type, kind, exercise, sent, sent_at, headline';

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    episode: s(
      `SELECT ${COLUMNS} FROM warn_cap_messages WHERE area = :area AND episode = :episode ORDER BY seq`,
    ),
    insert:
      s(`INSERT INTO warn_cap_messages (identifier, sender, area, episode, msg_type, kind, exercise, sent,
        sent_at, headline, xml)
      VALUES (:identifier, :sender, :area, :episode, :msg_type, :kind, :exercise, :sent, :sent_at, :headline, :xml)`),
    latestOf: s(
      `SELECT ${COLUMNS} FROM warn_cap_messages WHERE area = :area AND episode LIKE :prefix
        ORDER BY seq DESC LIMIT 1`,
    ),
    bySeq: s(`SELECT ${COLUMNS} FROM warn_cap_messages WHERE seq = :seq`),
    xml: s('SELECT xml FROM warn_cap_messages WHERE identifier = :identifier'),
    recent: s(`SELECT ${COLUMNS} FROM warn_cap_messages ORDER BY seq DESC LIMIT :limit`),
    recentArea: s(
      `SELECT ${COLUMNS} FROM warn_cap_messages WHERE area = :area ORDER BY seq DESC LIMIT :limit`,
    ),
  };
}
