import { createPublicKey, randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { WarnError } from './errors.ts';
import type { Lang } from './messages.ts';

/**
 * Residents' push subscriptions, per area (table warn_push_subscriptions). A subscription is
 * personal data (the endpoint identifies one browser): it is stored only while subscribed, deleted
 * (not flagged) on unsubscribe or when the push service says it is gone, never logged, and the
 * outbox refers to it by its random id only, so no endpoint or key is copied into delivery records.
 *
 * Endpoints are checked against the push services' hosts: a subscription is a URL the control
 * center will POST to, so without that check anyone could make it send requests into its own
 * network (server-side request forgery).
 */
export interface PushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface StoredSubscription extends PushSubscriptionJson {
  id: string;
  area: string;
  lang: Lang;
}

export interface PushStoreOptions {
  db: DatabaseSync;
  /** Host names (exact, or a suffix when given as ".example.com") push endpoints may point to. */
  allowedHosts?: readonly string[];
  /** Plain http endpoints: only for tests against a loopback push service. */
  allowHttp?: boolean;
  now?: () => number;
}

/** The push services of the browsers residents use (Chrome/Edge/Samsung, Firefox, Windows, Safari). */
export const PUSH_SERVICE_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  'updates.push.services.mozilla.com',
  '.notify.windows.com',
  '.push.apple.com',
];

const MAX_ENDPOINT = 1_000;

export class PushSubscriptions {
  readonly #st: ReturnType<typeof prepare>;
  readonly #db: DatabaseSync;
  readonly #hosts: readonly string[];
  readonly #allowHttp: boolean;
  readonly #now: () => number;

  constructor(opts: PushStoreOptions) {
    this.#db = opts.db;
    this.#st = prepare(opts.db);
    this.#hosts = opts.allowedHosts ?? PUSH_SERVICE_HOSTS;
    this.#allowHttp = opts.allowHttp ?? false;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Adds a subscription (or replaces the keys of the same endpoint in the same area) and returns its
   * id, which the page keeps to unsubscribe. Throws SG_ERR_WARN_SUBSCRIPTION with a message safe to
   * return to the browser (it quotes nothing it was sent).
   */
  subscribe(area: string, sub: unknown, lang: Lang = 'ko'): string {
    const s = this.#check(sub);
    const existing = this.#st.byEndpoint.get({ area, endpoint: s.endpoint }) as { id: string } | undefined;
    const id = existing?.id ?? randomUUID();
    this.#st.upsert.run({
      id,
      area,
      endpoint: s.endpoint,
      p256dh: s.keys.p256dh,
      auth: s.keys.auth,
      lang: lang === 'en' ? 'en' : 'ko',
      now: this.#now(),
    });
    return id;
  }

  /** Deletes it; true when there was one. */
  unsubscribe(id: string): boolean {
    return Number(this.#st.delete.run({ id }).changes) > 0;
  }

  /** Deletes by endpoint (the browser's pushsubscriptionchange, or a page that lost the id). */
  unsubscribeEndpoint(endpoint: string): number {
    return Number(this.#st.deleteEndpoint.run({ endpoint }).changes);
  }

  get(id: string): StoredSubscription | undefined {
    const r = this.#st.byId.get({ id }) as Row | undefined;
    return r ? toSub(r) : undefined;
  }

  /** Ids and languages of an area's subscriptions (no endpoints): what a fan-out needs. */
  recipients(area: string): { id: string; lang: Lang }[] {
    return this.#st.ids.all({ area }) as unknown as { id: string; lang: Lang }[];
  }

  count(area?: string): number {
    const r = (area ? this.#st.countArea.get({ area }) : this.#st.countAll.get()) as { n: number };
    return r.n;
  }

  /** For a fan-out inside one transaction. */
  get db(): DatabaseSync {
    return this.#db;
  }

  #check(sub: unknown): PushSubscriptionJson {
    const bad = (what: string): never => {
      throw new WarnError('SG_ERR_WARN_SUBSCRIPTION', what);
    };
    const s = sub as Partial<PushSubscriptionJson> | null;
    if (typeof s !== 'object' || s === null) return bad('expected a push subscription object');
    if (typeof s.endpoint !== 'string' || s.endpoint.length > MAX_ENDPOINT) return bad('bad endpoint');
    let url: URL;
    try {
      url = new URL(s.endpoint);
    } catch {
      return bad('bad endpoint');
    }
    if (url.protocol !== 'https:' && !(this.#allowHttp && url.protocol === 'http:'))
      return bad('the endpoint must be https');
    if (url.username || url.password) return bad('bad endpoint');
    const host = url.hostname.toLowerCase();
    if (!this.#hosts.some((h) => (h.startsWith('.') ? host.endsWith(h) : host === h)))
      return bad('the endpoint is not a known push service');
    const k = s.keys;
    if (typeof k !== 'object' || k === null || typeof k.p256dh !== 'string' || typeof k.auth !== 'string')
      return bad('missing keys');
    if (k.p256dh.length > 100 || k.auth.length > 40) return bad('bad keys');
    const p = Buffer.from(k.p256dh, 'base64url');
    if (p.length !== 65 || p[0] !== 0x04) return bad('p256dh must be an uncompressed P-256 point');
    try {
      // Refuses a point that is not on the curve (RFC 8291 3.1 requires P-256).
      createPublicKey({
        key: {
          kty: 'EC',
          crv: 'P-256',
          x: p.subarray(1, 33).toString('base64url'),
          y: p.subarray(33).toString('base64url'),
        },
        format: 'jwk',
      });
    } catch {
      return bad('p256dh is not a P-256 public key');
    }
    if (Buffer.from(k.auth, 'base64url').length !== 16) return bad('auth must be 16 bytes');
    return { endpoint: url.href, keys: { p256dh: k.p256dh, auth: k.auth } };
  }
}

interface Row {
  id: string;
  area: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  lang: string;
}

function toSub(r: Row): StoredSubscription {
  return {
    id: r.id,
    area: r.area,
    lang: r.lang === 'en' ? 'en' : 'ko',
    endpoint: r.endpoint,
    keys: { p256dh: r.p256dh, auth: r.auth },
  };
}

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    byEndpoint: s('SELECT id FROM warn_push_subscriptions WHERE area = :area AND endpoint = :endpoint'),
    upsert: s(`INSERT INTO warn_push_subscriptions (id, area, endpoint, p256dh, auth, lang, created_at)
      VALUES (:id, :area, :endpoint, :p256dh, :auth, :lang, :now)
      ON CONFLICT (area, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
        lang = excluded.lang`),
    delete: s('DELETE FROM warn_push_subscriptions WHERE id = :id'),
    deleteEndpoint: s('DELETE FROM warn_push_subscriptions WHERE endpoint = :endpoint'),
    byId: s('SELECT id, area, endpoint, p256dh, auth, lang FROM warn_push_subscriptions WHERE id = :id'),
    ids: s('SELECT id, lang FROM warn_push_subscriptions WHERE area = :area ORDER BY created_at, id'),
    countArea: s('SELECT count(*) AS n FROM warn_push_subscriptions WHERE area = :area'),
    countAll: s('SELECT count(*) AS n FROM warn_push_subscriptions'),
  };
}
