import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ResolvedNotify } from '../notify/config.ts';
import { PUSH_SERVICE_HOSTS } from './push-store.ts';

/**
 * The `warn:` section of server.yaml: whether and how residents are warned (docs/warnings.md).
 * Without it, no resident is warned and no public route exists. The channels that talk SMTP and to
 * an SMS gateway are the `notify:` section's, named here, so one SMTP account and one gateway secret
 * serve officials and residents; unknown keys are errors, and every problem is listed at once.
 */
const ChannelRef = Type.Object(
  { channel: Type.String({ minLength: 1, maxLength: 64, description: 'a channel of the notify: section' }) },
  { additionalProperties: false },
);

export const WarnConfig = Type.Object(
  {
    public_url: Type.Optional(
      Type.String({
        pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$',
        maxLength: 200,
        description: 'the URL residents reach the server at (links in mails, CAP <web>); default: its own',
      }),
    ),
    sender: Type.String({
      minLength: 3,
      maxLength: 100,
      default: 'slopeguard@localhost',
      description: 'CAP <sender>, e.g. slopeguard@seocho.go.kr',
    }),
    id_prefix: Type.String({
      minLength: 1,
      maxLength: 60,
      default: 'slopeguard',
      description: 'CAP identifiers start with it, e.g. kr.go.seocho.slopeguard',
    }),
    author: Type.String({
      minLength: 1,
      maxLength: 100,
      default: 'Slopeguard',
      description: 'the feed author',
    }),
    exercise: Type.Boolean({
      default: false,
      description: 'every message is a drill (훈련): the demo and training installations',
    }),
    push: Type.Optional(
      Type.Object(
        {
          subject: Type.String({
            pattern: '^(mailto:|https://)',
            maxLength: 200,
            description: 'how push services reach the operator (RFC 8292): mailto: or https:',
          }),
          vapid_file: Type.Optional(
            Type.String({ minLength: 1, description: 'the VAPID key pair; default <data_dir>/vapid.json' }),
          ),
          hosts: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
              minItems: 1,
              maxItems: 50,
              description: 'push service hosts subscriptions may name (".example.com": a suffix)',
            }),
          ),
          allow_http: Type.Boolean({ default: false, description: 'plain-http endpoints: tests only' }),
        },
        { additionalProperties: false },
      ),
    ),
    email: Type.Optional(ChannelRef),
    gateway: Type.Optional(ChannelRef),
    rate_limit: Type.Object(
      {
        per_minute: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, default: 10 }),
        burst: Type.Integer({ minimum: 1, maximum: 10_000, default: 5 }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'subscription requests per remote address',
      },
    ),
  },
  { additionalProperties: false },
);

export interface ResolvedWarn {
  publicUrl?: string;
  sender: string;
  idPrefix: string;
  author: string;
  exercise: boolean;
  push?: { subject: string; vapidFile: string; hosts: readonly string[]; allowHttp: boolean };
  /** The notify e-mail channel residents' mails go through (its spec is copied, a pool of its own). */
  email?: { channel: string };
  /** The notify webhook channel of the SMS/messenger gateway. */
  gateway?: { channel: string };
  rateLimit: { perMinute: number; burst: number };
}

export type WarnConfigResult = { ok: true; value: ResolvedWarn } | { ok: false; errors: string[] };

/**
 * Checks and resolves `warn:`; `notify` is the resolved notify section (channel references are
 * checked against it), `dataDir` the default folder of the VAPID key file. Never throws.
 */
export function parseWarnConfig(
  raw: unknown,
  opts: { notify?: ResolvedNotify; dataDir: string; prefix?: string },
): WarnConfigResult {
  const prefix = opts.prefix ?? '/warn';
  const value = Value.Default(WarnConfig, structuredClone(raw ?? {}));
  const errors = [...Value.Errors(WarnConfig, value)].map((e) => `${prefix}${e.path}: ${e.message}`);
  if (errors.length > 0) return { ok: false, errors: [...new Set(errors)] };
  const v = value as import('@sinclair/typebox').Static<typeof WarnConfig>;
  const channels = new Map((opts.notify?.channels ?? []).map((c) => [c.id, c.kind]));
  const ref = (key: 'email' | 'gateway', kind: 'email' | 'webhook') => {
    const r = v[key];
    if (!r) return;
    const k = channels.get(r.channel);
    if (k === undefined)
      errors.push(`${prefix}/${key}/channel: no channel ${JSON.stringify(r.channel)} in notify.channels`);
    else if (k !== kind) errors.push(`${prefix}/${key}/channel: ${r.channel} is a ${k} channel, not ${kind}`);
  };
  ref('email', 'email');
  ref('gateway', 'webhook');
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      publicUrl: v.public_url?.replace(/\/+$/, ''),
      sender: v.sender,
      idPrefix: v.id_prefix,
      author: v.author,
      exercise: v.exercise,
      push: v.push
        ? {
            subject: v.push.subject,
            vapidFile: v.push.vapid_file ?? join(opts.dataDir, 'vapid.json'),
            hosts: v.push.hosts ?? PUSH_SERVICE_HOSTS,
            allowHttp: v.push.allow_http,
          }
        : undefined,
      email: v.email,
      gateway: v.gateway,
      rateLimit: { perMinute: v.rate_limit.per_minute, burst: v.rate_limit.burst },
    },
  };
}
