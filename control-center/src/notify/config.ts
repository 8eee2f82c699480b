import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Level } from '@slopeguard/core';
import type { RetryPolicy } from './backoff.ts';
import { emailChannel } from './channels/email.ts';
import { webhookChannel } from './channels/webhook.ts';
import type { Clock } from './clock.ts';
import type { EscalationChain, EscalationPolicy } from './escalation.ts';
import type { Channel } from './types.ts';

/**
 * The `notify:` section of server.yaml: channels, retry policy and escalation chains. One schema
 * gives the type, the defaults and the validation; unknown keys are errors; every problem is listed
 * at once, including references between the parts (a contact naming a channel that does not exist).
 * Secrets may be given in the file or, better, named by an environment variable (`secret_env`,
 * `password_env`) so the file can be world-readable. Durations are minutes or seconds, as written by
 * people; they become milliseconds here.
 */
const Name = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  description: 'a name: letters, digits, . _ -',
});

const WebhookChannel = Type.Object(
  {
    kind: Type.Literal('webhook'),
    url: Type.String({ pattern: '^https?://', description: 'where the signed JSON POST goes' }),
    secret: Type.Optional(
      Type.String({ minLength: 16, description: 'HMAC-SHA256 key (at least 16 characters)' }),
    ),
    secret_env: Type.Optional(Type.String({ description: 'environment variable holding the key instead' })),
    timeout_seconds: Type.Number({ exclusiveMinimum: 0, maximum: 120, default: 10 }),
  },
  { additionalProperties: false },
);

const EmailChannel = Type.Object(
  {
    kind: Type.Literal('email'),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
    secure: Type.Boolean({ default: false, description: 'TLS from the first byte (port 465)' }),
    require_tls: Type.Boolean({ default: true, description: 'refuse to send without STARTTLS' }),
    user: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    password_env: Type.Optional(Type.String({ description: 'environment variable holding the password' })),
    from: Type.String({ minLength: 3, description: 'e.g. "Slopeguard <alerts@example.go.kr>"' }),
    timeout_seconds: Type.Number({ exclusiveMinimum: 0, maximum: 120, default: 20 }),
  },
  { additionalProperties: false },
);

const Contact = Type.Object(
  {
    id: Name,
    channel: Name,
    address: Type.String({
      maxLength: 500,
      description: 'e-mail address, phone number, or "" for a gateway',
    }),
  },
  { additionalProperties: false },
);

const Tier = Type.Object(
  {
    after_minutes: Type.Number({ minimum: 0, default: 0 }),
    contacts: Type.Array(Contact, { minItems: 1 }),
  },
  { additionalProperties: false },
);

const Chain = Type.Object(
  {
    min_level: Type.Integer({ minimum: 1, maximum: 4, default: 2 }),
    repeat_minutes: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'reminders; none if absent' }),
    ),
    max_reminders: Type.Integer({ minimum: 0, maximum: 100, default: 4 }),
    notify_clear: Type.Boolean({ default: true }),
    tiers: Type.Array(Tier, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const NotifyConfig = Type.Object(
  {
    channels: Type.Record(Name, Type.Union([WebhookChannel, EmailChannel]), { default: {} }),
    retry: Type.Object(
      {
        max_attempts: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
        base_seconds: Type.Number({ exclusiveMinimum: 0, default: 2 }),
        cap_seconds: Type.Number({ exclusiveMinimum: 0, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
    escalation: Type.Object(
      {
        default_chain: Type.Optional(Name),
        sites: Type.Record(Name, Name, { default: {}, description: 'site id -> chain name' }),
        chains: Type.Record(Name, Chain, { default: {} }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
export type NotifyConfig = Static<typeof NotifyConfig>;

export type ChannelSpec =
  | { id: string; kind: 'webhook'; url: string; secret: string; timeoutMs: number }
  | {
      id: string;
      kind: 'email';
      host: string;
      port: number;
      secure: boolean;
      requireTls: boolean;
      user?: string;
      password?: string;
      from: string;
      timeoutMs: number;
    };

export interface ResolvedNotify {
  channels: ChannelSpec[];
  retry: Omit<RetryPolicy, 'jitter'>;
  policy: EscalationPolicy;
}

export type NotifyConfigResult = { ok: true; value: ResolvedNotify } | { ok: false; errors: string[] };

const VARIANTS: Record<string, TSchema> = { webhook: WebhookChannel, email: EmailChannel };
const MIN = 60_000;

/**
 * Checks and resolves the `notify:` section (`raw` as parsed from YAML). Never throws; every problem
 * comes back as `path: message`, paths starting at `prefix`.
 */
export function parseNotifyConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
  prefix = '/notify',
): NotifyConfigResult {
  const value = Value.Default(NotifyConfig, structuredClone(raw ?? {})) as NotifyConfig;
  const errors: string[] = [];
  // A channel is checked against the variant its `kind` names, so a typo inside an e-mail block is
  // reported at its own path instead of as "matches none of the union".
  const channels = isObject(value) && isObject(value.channels) ? value.channels : {};
  for (const [id, ch] of Object.entries(channels)) {
    const path = `${prefix}/channels/${id}`;
    const kind = isObject(ch) ? ch.kind : undefined;
    const variant = typeof kind === 'string' ? VARIANTS[kind] : undefined;
    if (!variant) {
      errors.push(
        `${path}/kind: must be one of ${Object.keys(VARIANTS)
          .map((k) => JSON.stringify(k))
          .join(', ')}`,
      );
      continue;
    }
    Value.Default(variant, ch);
    errors.push(...listErrors(variant, ch, path));
  }
  // TypeBox does not fill defaults inside Record values: each chain gets its own.
  const escalation: Record<string, unknown> =
    isObject(value) && isObject(value.escalation) ? value.escalation : {};
  if (isObject(escalation.chains)) for (const c of Object.values(escalation.chains)) Value.Default(Chain, c);
  for (const e of listErrors(NotifyConfig, value, prefix)) {
    if (!e.startsWith(`${prefix}/channels/`)) errors.push(e);
  }
  if (errors.length > 0) return { ok: false, errors };

  const specs: ChannelSpec[] = [];
  for (const [id, ch] of Object.entries(value.channels)) {
    const path = `${prefix}/channels/${id}`;
    if (ch.kind === 'webhook') {
      const secret = secretFrom(ch.secret, ch.secret_env, env, `${path}/secret`, errors, true);
      if (secret !== undefined && secret.length < 16)
        errors.push(`${path}/secret_env: the key must have at least 16 characters`);
      specs.push({
        id,
        kind: 'webhook',
        url: ch.url,
        secret: secret ?? '',
        timeoutMs: ch.timeout_seconds * 1000,
      });
    } else {
      const password = secretFrom(ch.password, ch.password_env, env, `${path}/password`, errors, false);
      if (password !== undefined && !ch.user) errors.push(`${path}/user: required with a password`);
      specs.push({
        id,
        kind: 'email',
        host: ch.host,
        port: ch.port,
        secure: ch.secure,
        requireTls: ch.require_tls,
        user: ch.user,
        password,
        from: ch.from,
        timeoutMs: ch.timeout_seconds * 1000,
      });
    }
  }

  const esc = value.escalation;
  const chains = new Map<string, EscalationChain>();
  for (const [name, c] of Object.entries(esc.chains)) {
    const path = `${prefix}/escalation/chains/${name}`;
    let previous = 0;
    c.tiers.forEach((t, i) => {
      if (t.after_minutes < previous)
        errors.push(`${path}/tiers/${i}/after_minutes: must not be before the tier above`);
      previous = t.after_minutes;
      const seen = new Set<string>();
      t.contacts.forEach((ct, j) => {
        if (!(ct.channel in value.channels))
          errors.push(
            `${path}/tiers/${i}/contacts/${j}/channel: no channel named ${JSON.stringify(ct.channel)}`,
          );
        if (seen.has(ct.id)) errors.push(`${path}/tiers/${i}/contacts/${j}/id: ${ct.id} twice in one tier`);
        seen.add(ct.id);
        const kind = value.channels[ct.channel]?.kind;
        if (kind === 'email' && !/^[^@\s]+@[^@\s]+$/.test(ct.address))
          errors.push(`${path}/tiers/${i}/contacts/${j}/address: must be an e-mail address`);
      });
    });
    chains.set(name, {
      minLevel: c.min_level as Level,
      repeatMs: c.repeat_minutes === undefined ? null : c.repeat_minutes * MIN,
      maxReminders: c.max_reminders,
      notifyClear: c.notify_clear,
      tiers: c.tiers.map((t) => ({ afterMs: t.after_minutes * MIN, contacts: t.contacts })),
    });
  }
  if (esc.default_chain !== undefined && !chains.has(esc.default_chain))
    errors.push(`${prefix}/escalation/default_chain: no chain named ${JSON.stringify(esc.default_chain)}`);
  for (const [site, chain] of Object.entries(esc.sites)) {
    if (!chains.has(chain))
      errors.push(`${prefix}/escalation/sites/${site}: no chain named ${JSON.stringify(chain)}`);
  }
  if (value.retry.cap_seconds < value.retry.base_seconds)
    errors.push(`${prefix}/retry/cap_seconds: must not be below base_seconds`);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      channels: specs,
      retry: {
        maxAttempts: value.retry.max_attempts,
        baseMs: value.retry.base_seconds * 1000,
        capMs: value.retry.cap_seconds * 1000,
      },
      policy: {
        chains,
        defaultChain: esc.default_chain ?? null,
        sites: new Map(Object.entries(esc.sites)),
      },
    },
  };
}

/** The channel plugins of a resolved configuration. */
export function buildChannels(specs: readonly ChannelSpec[], clock: Pick<Clock, 'now'>): Channel[] {
  return specs.map((s) =>
    s.kind === 'webhook'
      ? webhookChannel({ id: s.id, url: s.url, secret: s.secret, timeoutMs: s.timeoutMs, clock })
      : emailChannel({ ...s, id: s.id }),
  );
}

function secretFrom(
  inline: string | undefined,
  envName: string | undefined,
  env: NodeJS.ProcessEnv,
  path: string,
  errors: string[],
  required: boolean,
): string | undefined {
  if (inline !== undefined && envName !== undefined) {
    errors.push(`${path}: give it in the file or through ${path.split('/').at(-1)}_env, not both`);
    return undefined;
  }
  if (envName !== undefined) {
    const v = env[envName];
    // The variable's name may be reported; its value never is.
    if (v === undefined || v === '') errors.push(`${path}_env: environment variable ${envName} is not set`);
    return v || undefined;
  }
  if (inline === undefined && required) errors.push(`${path}: required (or ${path.split('/').at(-1)}_env)`);
  return inline;
}

/** Every error, `path: message`, one per path (TypeBox reports some twice). */
function listErrors(schema: TSchema, value: unknown, prefix: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of Value.Errors(schema, value)) {
    const path = `${prefix}${e.path}`;
    if (seen.has(path)) continue;
    seen.add(path);
    out.push(`${path}: ${e.message}`);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
