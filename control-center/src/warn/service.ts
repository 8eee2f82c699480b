import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { encodePayload, type Level } from '@slopeguard/core';
import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import { emailChannel } from '../notify/channels/email.ts';
import type { ResolvedNotify } from '../notify/config.ts';
import type { Outbox } from '../notify/outbox.ts';
import type { Channel } from '../notify/types.ts';
import type { DataState } from '../site-state.ts';
import type { Area, MessageKind } from './area.ts';
import { buildAtomFeed } from './cap-feed.ts';
import { CapLog, type CapRecord } from './cap-log.ts';
import type { ResolvedWarn } from './config.ts';
import { EmailSubscriptions } from './email-subscriptions.ts';
import { enqueuePush, inSavepoint, type WarningNotice } from './fanout.ts';
import { enqueueGateway } from './gateway.ts';
import { KIND_LEVEL, renderWarning, residentKind } from './messages.ts';
import { type AreaState, type PageLinks, renderPublicPage } from './public-page.ts';
import { webPushChannel } from './push-channel.ts';
import { PushSubscriptions } from './push-store.ts';
import { signboardNotice } from './signboard.ts';
import { enqueueEmail, subscriberEmailChannel } from './subscriber-email.ts';
import { loadOrCreateVapidKeys, type VapidKeys } from './vapid.ts';

/**
 * The residents' warnings of a running control center: it watches each site's official level and
 * data state (the same calls that open, update and clear the officials' alert) and, for the site's
 * area, publishes the CAP message, fans the warning out to push and e-mail subscribers and the SMS
 * gateway through the notify outbox, sets the retained `slopeguard/v1/{site}/notice` for
 * signboards, and keeps the public page and the feeds rendered in memory.
 *
 * Exactly once: the CAP message and every outbox row of its fan-out are written in one transaction,
 * and the trigger decides from the stored CAP messages, not from memory. A restart with the same
 * level finds the episode's last message of the same kind and does nothing; one killed mid-way
 * rolled the whole change back and does it again. The outbox de-duplicates on (episode, level,
 * channel, recipient, message), and delivers each row once (receivers de-duplicate on its id).
 *
 * Episodes: the level trigger's are named `alert-{alert id}` (then `-2`, `-3` if the same alert
 * rises to a resident level again after an all-clear); drills are `drill-{time}`. Levels 0 and 1
 * and "no data" send residents nothing (docs/warnings.md); a fall below 2 ends the episode with the
 * all-clear (CAP Cancel).
 */
export const PUSH_CHANNEL = 'warn-push';
export const EMAIL_CHANNEL = 'warn-email';
const ALERT = 'alert-';
const DRILL = 'drill-';

/** Publishes a site's retained notice (MQTT, QoS 1); `done` once the broker has it. */
export type NoticePublisher = (site: string, payload: string | Buffer, done: (err?: Error) => void) => void;

export interface WarnServiceOptions {
  db: DatabaseSync;
  config: ResolvedWarn;
  /** The notify section (the e-mail channel named by `warn.email` is built from its spec). */
  notify?: ResolvedNotify;
  /** Site id -> its area. Sites without an area warn officials only. */
  areas: ReadonlyMap<string, Area>;
  logger: Logger;
  now: () => number;
  /** The server's own URL when `public_url` is not configured, known once it listens. */
  ownUrl: () => string;
}

interface SiteObservation {
  level: Level;
  data: DataState;
  at: number;
  alertId: number | string | undefined;
  lastDataAt?: number;
}

export interface CachedBody {
  body: Buffer;
  etag: string;
  headers: Record<string, string>;
}

export interface DrillResult {
  area: string;
  episode: string;
  identifier: string;
  msgType: string;
  created: boolean;
}

export class WarnService {
  readonly cap: CapLog;
  readonly push: PushSubscriptions | undefined;
  readonly email: EmailSubscriptions | undefined;
  readonly vapid: VapidKeys | undefined;
  readonly config: ResolvedWarn;
  readonly #o: WarnServiceOptions;
  readonly #log: Logger;
  readonly #areas = new Map<string, { site: string; area: Area }>();
  readonly #seen = new Map<string, SiteObservation>();
  readonly #pages = new Map<string, CachedBody>();
  readonly #feeds = new Map<string, CachedBody>();
  readonly #noticeKeys = new Map<string, string>();
  readonly #noticeInFlight = new Map<string, string>();
  readonly #st: ReturnType<typeof prepare>;
  #outbox: Outbox | undefined;
  #publishNotice: NoticePublisher | undefined;
  readonly #started: number;

  constructor(o: WarnServiceOptions) {
    this.#o = o;
    this.config = o.config;
    this.#log = childLogger(o.logger, { component: 'warn' });
    this.#started = o.now();
    this.cap = new CapLog({ db: o.db, sender: o.config.sender, idPrefix: o.config.idPrefix });
    this.#st = prepare(o.db);
    for (const [site, area] of o.areas) {
      const other = this.#areas.get(area.id);
      if (other) throw new Error(`area ${area.id} is named by sites ${other.site} and ${site}`);
      this.#areas.set(area.id, { site, area });
    }
    if (o.config.push) {
      this.push = new PushSubscriptions({
        db: o.db,
        allowedHosts: o.config.push.hosts,
        allowHttp: o.config.push.allowHttp,
        now: o.now,
      });
      const { keys, created } = loadOrCreateVapidKeys(o.config.push.vapidFile);
      this.vapid = keys;
      if (created) this.#log.warn({ file: o.config.push.vapidFile }, 'VAPID key pair made; back it up');
    }
    if (o.config.email) this.email = new EmailSubscriptions({ db: o.db, now: o.now });
    for (const r of this.#st.notices.all() as unknown as { site: string; key: string }[])
      this.#noticeKeys.set(r.site, r.key);
  }

  get baseUrl(): string {
    return this.#o.config.publicUrl ?? this.#o.ownUrl().replace(/\/+$/, '');
  }

  /** The channel plugins the notifier's outbox must carry. */
  channels(): Channel[] {
    const out: Channel[] = [];
    if (this.push && this.vapid)
      out.push(
        webPushChannel({
          id: PUSH_CHANNEL,
          store: this.push,
          vapid: this.vapid,
          subject: this.config.push?.subject ?? '',
        }),
      );
    if (this.email && this.config.email) {
      const spec = this.#o.notify?.channels.find((c) => c.id === this.config.email?.channel);
      if (spec?.kind !== 'email')
        throw new Error(`warn.email: ${this.config.email.channel} is no e-mail channel`);
      out.push(
        subscriberEmailChannel({
          id: EMAIL_CHANNEL,
          mail: emailChannel({ ...spec, id: EMAIL_CHANNEL }),
          store: this.email,
          baseUrl: () => this.baseUrl,
        }),
      );
    }
    return out;
  }

  /**
   * Starts the service: the outbox to queue on and the function that publishes a retained notice.
   * Renders every area's page (no data until the first observation: silence is not Normal).
   */
  start(outbox: Outbox, publishNotice: NoticePublisher): void {
    this.#outbox = outbox;
    this.#publishNotice = publishNotice;
    const now = this.#o.now();
    for (const { site, area } of this.#areas.values()) {
      this.#trigger(site, area, now);
      this.#render(site);
    }
  }

  areas(): { id: string; site: string; area: Area }[] {
    return [...this.#areas.entries()].map(([id, v]) => ({ id, site: v.site, area: v.area }));
  }

  areaOf(id: string): Area | undefined {
    return this.#areas.get(id)?.area;
  }

  /**
   * The trigger: the site's official level and data state now, and its alert (the episode's name).
   * Never throws: it runs inside the control center's shared path; a failure is logged and the next
   * observation (every change, and every tick) tries again from the stored state.
   */
  observe(
    site: string,
    level: number,
    data: DataState,
    alertId: number | string | undefined,
    now: number,
  ): void {
    const area = this.#siteArea(site);
    if (!area) return;
    const lvl = Math.max(0, Math.min(4, Math.trunc(level))) as Level;
    const prev = this.#seen.get(site);
    this.#seen.set(site, {
      level: lvl,
      data,
      at: prev && prev.level === lvl && prev.data === data ? prev.at : now,
      lastDataAt: data === 'no_data' ? prev?.lastDataAt : now,
      alertId,
    });
    this.#trigger(site, area, now);
    this.#render(site);
  }

  /**
   * An operator's drill (훈련) for an area: level 2..4 issues (or updates) the drill's warning, 0 ends
   * it with the all-clear. Every channel marks it as an exercise; the level of the site is untouched.
   */
  drill(areaId: string, level: 0 | 2 | 3 | 4, now: number): DrillResult | undefined {
    const entry = this.#areas.get(areaId);
    if (!entry) return undefined;
    const active = this.#active(areaId, DRILL);
    let result: DrillResult;
    if (level === 0) {
      if (!active) return { area: areaId, episode: '', identifier: '', msgType: 'none', created: false };
      result = this.#issue(entry.area, active.episode, 'all_clear', 0, true, now);
    } else {
      const kind = residentKind(level) as MessageKind;
      const episode = active?.episode ?? this.#newDrillEpisode(areaId, now);
      result = this.#issue(entry.area, episode, kind, level, true, now);
    }
    this.#render(entry.site);
    return result;
  }

  /** The rendered page of an area, kept in memory (rebuilt when its state changes). */
  page(areaId: string): CachedBody | undefined {
    return this.#pages.get(areaId);
  }

  /** The Atom feed of every area (`undefined`) or of one; rebuilt when a message is added. */
  feed(areaId?: string): CachedBody {
    const key = areaId ?? '';
    const cached = this.#feeds.get(key);
    if (cached) return cached;
    const records = this.cap.recent({ area: areaId, limit: 50 });
    const xml = buildAtomFeed({
      baseUrl: this.baseUrl,
      selfPath: areaId ? `/cap/areas/${areaId}/feed.xml` : '/cap/feed.xml',
      title: areaId
        ? `${this.#areas.get(areaId)?.area.name.ko ?? areaId} 급경사지 경보 / slope warnings`
        : '급경사지 경보 / Slope warnings',
      author: this.config.author,
      records,
      now: this.#o.now(),
    });
    const body = Buffer.from(xml);
    const etag = etagOf(body);
    const out = {
      body,
      etag,
      headers: {
        'content-type': 'application/atom+xml; charset=utf-8',
        'cache-control': 'public, max-age=15, stale-while-revalidate=45',
        etag,
      },
    };
    this.#feeds.set(key, out);
    return out;
  }

  /** Subscribers per area (counts only: what operators may see). */
  counts(): { area: string; push: number; emailActive: number; emailPending: number }[] {
    return [...this.#areas.keys()].map((area) => ({
      area,
      push: this.push?.count(area) ?? 0,
      emailActive: this.email ? (this.#st.emailCount.get({ area, state: 'active' }) as { n: number }).n : 0,
      emailPending: this.email ? (this.#st.emailCount.get({ area, state: 'pending' }) as { n: number }).n : 0,
    }));
  }

  /**
   * An area's subscribers, for an admin's view (the route audits it): e-mail addresses, and of a
   * push subscription only its push service's host (the endpoint itself is a bearer capability).
   */
  subscribers(area: string): {
    id: string;
    kind: 'push' | 'email';
    lang: 'ko' | 'en';
    state: string;
    contact: string;
    created: number;
  }[] {
    const out: ReturnType<WarnService['subscribers']> = [];
    if (this.push)
      for (const r of this.#st.pushList.all({ area }) as unknown as {
        id: string;
        endpoint: string;
        lang: 'ko' | 'en';
        created_at: number;
      }[]) {
        let host = '';
        try {
          host = new URL(r.endpoint).host;
        } catch {
          host = '?';
        }
        out.push({
          id: r.id,
          kind: 'push',
          lang: r.lang,
          state: 'active',
          contact: host,
          created: r.created_at,
        });
      }
    if (this.email)
      for (const r of this.#st.emailList.all({ area }) as unknown as {
        id: string;
        email: string;
        lang: 'ko' | 'en';
        state: string;
        created_at: number;
      }[])
        out.push({
          id: r.id,
          kind: 'email',
          lang: r.lang,
          state: r.state,
          contact: r.email,
          created: r.created_at,
        });
    return out;
  }

  /**
   * Retries what failed (a warning not issued, a notice not published) and purges expired e-mail
   * requests hourly; the control center's tick calls it.
   */
  tick(now: number): void {
    for (const { site, area } of this.#areas.values()) {
      this.#trigger(site, area, now);
      this.#syncNotice(site, now);
    }
    if (this.email && now - this.#lastPurge > 3_600_000) {
      this.#lastPurge = now;
      try {
        const n = this.email.purgeExpired();
        if (n > 0) this.#log.info({ deleted: n }, 'expired e-mail subscription requests deleted');
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'purging e-mail requests failed');
      }
    }
  }
  #lastPurge = 0;

  #siteArea(site: string): Area | undefined {
    return this.#o.areas.get(site);
  }

  /** Issues what the site's last observed level calls for, if it has not been issued yet. */
  #trigger(site: string, area: Area, now: number): void {
    const seen = this.#seen.get(site);
    if (!seen || !this.#outbox) return; // before start: the fan-out has nowhere to go yet
    try {
      const kind = residentKind(seen.level);
      const active = this.#active(area.id, ALERT);
      if (kind && active?.kind !== kind) {
        const episode = active?.episode ?? this.#newEpisode(area.id, seen.alertId);
        this.#issue(area, episode, kind, seen.level, this.config.exercise, now);
      } else if (!kind && active) {
        this.#issue(area, active.episode, 'all_clear', 0, active.exercise, now);
      }
    } catch (err) {
      this.#log.error({ site, area: area.id, err: (err as Error).message }, 'warning not issued; will retry');
    }
  }

  /**
   * A name for a new drill: its start second, with a suffix if a drill of that second already
   * ended (a new drill then, in the same second, once answered 500: the log refuses to reopen an
   * episode it has cancelled).
   */
  #newDrillEpisode(areaId: string, now: number): string {
    const base = `${DRILL}${Math.floor(now / 1000)}`;
    let episode = base;
    for (let n = 2; this.cap.hasEpisode(areaId, episode); n++) episode = `${base}-${n}`;
    return episode;
  }

  /** The episode in force of that family: its newest message, unless that is the all-clear. */
  #active(areaId: string, prefix: string): CapRecord | undefined {
    const last = this.cap.latestOf(areaId, prefix);
    return last && last.msgType !== 'Cancel' ? last : undefined;
  }

  #newEpisode(areaId: string, alertId: number | string | undefined): string {
    const base = `${ALERT}${alertId ?? Math.floor(this.#o.now() / 1000)}`;
    if (!this.cap.hasEpisode(areaId, base)) return base;
    for (let i = 2; ; i++) if (!this.cap.hasEpisode(areaId, `${base}-${i}`)) return `${base}-${i}`;
  }

  /** One CAP message and its whole fan-out in one transaction. */
  #issue(
    area: Area,
    episode: string,
    kind: MessageKind,
    level: Level,
    exercise: boolean,
    now: number,
  ): DrillResult {
    const outbox = this.#outbox;
    const pageUrl = `${this.baseUrl}/p/${area.id}`;
    const r = inSavepoint(this.#o.db, () => {
      const { record, created } = this.cap.publish({ area, episode, kind, exercise, at: now, web: pageUrl });
      if (!created || !outbox) return { record, created, queued: 0 };
      const notice: WarningNotice = {
        area: area.id,
        alertId: `warn:${area.id}:${episode}`,
        level: kind === 'all_clear' ? 0 : level,
        kind,
        round: `cap-${record.seq}`,
        exercise,
        rendered: renderWarning({ area, kind, exercise, issuedAt: now, pageUrl }),
        pageUrl,
      };
      let queued = 0;
      if (this.push) queued += enqueuePush(outbox, this.push, PUSH_CHANNEL, notice);
      if (this.email) queued += enqueueEmail(outbox, this.email, EMAIL_CHANNEL, notice);
      if (this.config.gateway)
        queued += enqueueGateway(outbox, this.config.gateway.channel, notice, area).created ? 1 : 0;
      return { record, created, queued };
    });
    if (r.created) {
      this.#feeds.clear();
      this.#log.warn(
        {
          area: area.id,
          episode,
          cap: r.record.identifier,
          msgType: r.record.msgType,
          kind,
          level: KIND_LEVEL[kind] === 0 ? 0 : level,
          exercise,
          queued: r.queued,
        },
        'residents warned',
      );
    }
    return {
      area: area.id,
      episode,
      identifier: r.record.identifier,
      msgType: r.record.msgType,
      created: r.created,
    };
  }

  /**
   * What the page and the signboard show for a site now. A warning in force stays shown while the
   * site has no data (it is not withdrawn for lack of news); below 2, no data is shown as such, and
   * before the first observation after a start the page says "no data" too: silence is not Normal.
   */
  #state(site: string, areaId: string): { page: AreaState; notice: NoticeWant } {
    const seen = this.#seen.get(site);
    const real = this.#active(areaId, ALERT);
    const drill = this.#active(areaId, DRILL);
    const at = seen?.at ?? this.#started;
    const shown = real ?? drill;
    let page: AreaState;
    if (seen && seen.level >= 2)
      page = { kind: 'level', level: seen.level, exercise: this.config.exercise, updatedAt: at };
    else if (shown)
      page = { kind: 'level', level: KIND_LEVEL[shown.kind], exercise: shown.exercise, updatedAt: at };
    else if (!seen || seen.data === 'no_data')
      page = { kind: 'no_data', updatedAt: at, lastDataAt: seen?.lastDataAt };
    else page = { kind: 'level', level: seen.level, exercise: false, updatedAt: at };

    let notice: NoticeWant;
    if (shown) {
      notice = {
        key: `warning|${shown.kind}|${shown.exercise ? 1 : 0}|${shown.episode}`,
        kind: shown.kind,
        level: KIND_LEVEL[shown.kind],
        exercise: shown.exercise,
      };
    } else if (!seen) {
      notice = { key: '' }; // not known yet: leave the retained notice as the last run set it
    } else if (seen.data === 'no_data') {
      notice = { key: 'no_data', kind: 'no_data', level: 0, exercise: false };
    } else {
      const last = this.cap.recent({ area: areaId, limit: 1 })[0];
      notice =
        last?.msgType === 'Cancel'
          ? { key: `all_clear|${last.episode}`, kind: 'all_clear', level: 0, exercise: last.exercise }
          : { key: 'none' };
    }
    return { page, notice };
  }

  #render(site: string): void {
    const area = this.#o.areas.get(site);
    if (!area) return;
    try {
      const { page } = this.#state(site, area.id);
      const rendered = renderPublicPage({ area, state: page, links: this.#links(area) });
      const body = Buffer.from(rendered.html);
      const old = this.#pages.get(area.id);
      if (!old || old.etag !== rendered.headers.etag)
        this.#pages.set(area.id, { body, etag: rendered.headers.etag as string, headers: rendered.headers });
    } catch (err) {
      this.#log.error({ site, err: (err as Error).message }, 'public page not rendered');
    }
    this.#syncNotice(site, this.#o.now());
  }

  #links(area: Area): PageLinks {
    return {
      capFeed: `/cap/areas/${area.id}/feed.xml`,
      ...(this.email ? { emailSubscribe: '/warn/email/subscribe' } : {}),
      ...(this.push && this.vapid
        ? {
            push: {
              script: '/p/push.js',
              serviceWorker: '/p/sw.js',
              action: '/warn/push',
              vapidPublicKey: this.vapid.publicKey,
            },
          }
        : {}),
    };
  }

  /** Sets the retained notice when what it should show changed; records it once the broker has it. */
  #syncNotice(site: string, now: number): void {
    const publish = this.#publishNotice;
    const area = this.#o.areas.get(site);
    if (!publish || !area) return;
    let want: NoticeWant;
    try {
      want = this.#state(site, area.id).notice;
    } catch (err) {
      this.#log.error({ site, err: (err as Error).message }, 'notice state unreadable');
      return;
    }
    if (want.key === '') return;
    const current = this.#noticeInFlight.get(site) ?? this.#noticeKeys.get(site) ?? 'none';
    if (current === want.key) return;
    let payload: string | Buffer;
    if (want.kind === undefined)
      payload = Buffer.alloc(0); // clears the retained message (MQTT 3.3.1.3)
    else if (want.kind === 'no_data')
      payload = encodePayload('notice', signboardNotice({ area, kind: 'no_data', exercise: false, at: now }));
    else
      payload = encodePayload(
        'notice',
        signboardNotice({ area, kind: want.kind, level: want.level, exercise: want.exercise, at: now }),
      );
    this.#noticeInFlight.set(site, want.key);
    publish(site, payload, (err) => {
      if (this.#noticeInFlight.get(site) === want.key) this.#noticeInFlight.delete(site);
      if (err) {
        this.#log.error({ site, err: err.message }, 'notice publish failed; will retry');
        return;
      }
      try {
        this.#st.setNotice.run({ site, key: want.key, now: this.#o.now() });
        this.#noticeKeys.set(site, want.key);
      } catch (e) {
        this.#log.error({ site, err: (e as Error).message }, 'notice state not saved');
      }
      // The state may have moved on while this was in flight.
      this.#syncNotice(site, this.#o.now());
    });
  }
}

type NoticeWant =
  | { key: string; kind: MessageKind; level: Level; exercise: boolean }
  | { key: string; kind: 'no_data'; level: 0; exercise: false }
  | { key: '' | 'none'; kind?: undefined };

/** A strong ETag of the bytes served. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    notices: s('SELECT site, key FROM warn_notices'),
    setNotice: s(`INSERT INTO warn_notices (site, key, published_at) VALUES (:site, :key, :now)
      ON CONFLICT (site) DO UPDATE SET key = excluded.key, published_at = excluded.published_at`),
    pushList: s(`SELECT id, endpoint, lang, created_at FROM warn_push_subscriptions WHERE area = :area
      ORDER BY created_at, id LIMIT 100000`),
    emailList: s(`SELECT id, email, lang, state, created_at FROM warn_email_subscriptions WHERE area = :area
      ORDER BY created_at, id LIMIT 100000`),
    emailCount: s('SELECT count(*) AS n FROM warn_email_subscriptions WHERE area = :area AND state = :state'),
  };
}
