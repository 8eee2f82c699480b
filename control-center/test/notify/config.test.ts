import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildChannels, parseNotifyConfig } from '../../src/notify/config.ts';

const EXAMPLE = `
channels:
  sms-gateway:
    kind: webhook
    url: https://sms-gateway.example.kr/hooks/slopeguard
    secret_env: SLOPEGUARD_SMS_SECRET
  mail:
    kind: email
    host: smtp.example.kr
    user: alerts
    password_env: SLOPEGUARD_SMTP_PASSWORD
    from: "Slopeguard <alerts@example.kr>"
retry:
  max_attempts: 8
escalation:
  default_chain: officials
  sites:
    hill-b: geology
  chains:
    officials:
      repeat_minutes: 15
      tiers:
        - contacts:
            - { id: duty-officer, channel: sms-gateway, address: "+82-10-5555-0100" }
            - { id: duty-mail, channel: mail, address: duty@city.example.kr }
        - after_minutes: 10
          contacts:
            - { id: section-chief, channel: sms-gateway, address: "+82-10-5555-0101" }
    geology:
      min_level: 3
      notify_clear: false
      tiers:
        - contacts: [{ id: geologist, channel: mail, address: geo@province.example.kr }]
`;
const ENV = {
  SLOPEGUARD_SMS_SECRET: 'sms-secret-0123456789abcdef',
  SLOPEGUARD_SMTP_PASSWORD: 'smtp-pass-9876',
};

describe('notify config', () => {
  it('resolves the documented example with defaults, secrets from the environment and milliseconds', () => {
    const r = parseNotifyConfig(parse(EXAMPLE), ENV);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.value.channels).toEqual([
      {
        id: 'sms-gateway',
        kind: 'webhook',
        url: 'https://sms-gateway.example.kr/hooks/slopeguard',
        secret: ENV.SLOPEGUARD_SMS_SECRET,
        timeoutMs: 10_000,
      },
      {
        id: 'mail',
        kind: 'email',
        host: 'smtp.example.kr',
        port: 587,
        secure: false,
        requireTls: true,
        user: 'alerts',
        password: ENV.SLOPEGUARD_SMTP_PASSWORD,
        from: 'Slopeguard <alerts@example.kr>',
        timeoutMs: 20_000,
      },
    ]);
    expect(r.value.retry).toEqual({ maxAttempts: 8, baseMs: 2_000, capMs: 300_000 });
    expect(r.value.policy.defaultChain).toBe('officials');
    expect(r.value.policy.sites.get('hill-b')).toBe('geology');
    expect(r.value.policy.chains.get('officials')).toMatchObject({
      minLevel: 2,
      repeatMs: 15 * 60_000,
      maxReminders: 4,
      notifyClear: true,
      tiers: [{ afterMs: 0 }, { afterMs: 10 * 60_000 }],
    });
    expect(r.value.policy.chains.get('geology')).toMatchObject({
      minLevel: 3,
      repeatMs: null,
      notifyClear: false,
    });
    const channels = buildChannels(r.value.channels, { now: Date.now });
    expect(channels.map((c) => `${c.id}:${c.kind}`)).toEqual(['sms-gateway:webhook', 'mail:email']);
    expect(channels[0]?.secrets()).toContain(ENV.SLOPEGUARD_SMS_SECRET);
    expect(channels[1]?.secrets()).toContain(ENV.SLOPEGUARD_SMTP_PASSWORD);
    for (const c of channels) void c.close?.();
  });

  it('is empty and valid when absent', () => {
    const r = parseNotifyConfig(undefined, {});
    expect(r.ok && r.value.channels.length === 0 && r.value.policy.defaultChain === null).toBe(true);
  });

  it('lists every error at once, with its path, and never a secret value', () => {
    const bad = parse(`
channels:
  sms:
    kind: webhook
    url: ftp://x
    secret: short
    retries: 3
  mail:
    kind: email
    port: 99999
    from: "a@b"
    password_env: SLOPEGUARD_MISSING
  pager:
    kind: carrier-pigeon
retry:
  base_seconds: 10
  cap_seconds: 5
escalation:
  default_chain: nobody
  sites: { hill-x: ghost }
  chains:
    c1:
      min_level: 9
      tiers: []
`);
    const r = parseNotifyConfig(bad, {});
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    const paths = errors.map((e) => e.slice(0, e.indexOf(': ')));
    expect(paths).toEqual(
      expect.arrayContaining([
        '/notify/channels/sms/url',
        '/notify/channels/sms/secret',
        '/notify/channels/sms/retries',
        '/notify/channels/mail/host',
        '/notify/channels/mail/port',
        '/notify/channels/pager/kind',
        '/notify/escalation/chains/c1/min_level',
        '/notify/escalation/chains/c1/tiers',
      ]),
    );
    expect(new Set(paths).size).toBe(paths.length);
    expect(errors.join('\n')).toContain('must be one of "webhook", "email"');
  });

  it('checks references and secrets once the shape is right', () => {
    const r = parseNotifyConfig(
      parse(`
channels:
  sms: { kind: webhook, url: "https://gw.example.kr/h", secret_env: SLOPEGUARD_SMS_SECRET }
  mail: { kind: email, host: smtp.example.kr, from: "a@example.kr", password: inline-pass }
retry: { base_seconds: 10, cap_seconds: 5 }
escalation:
  default_chain: nobody
  sites: { hill-x: ghost }
  chains:
    c1:
      tiers:
        - after_minutes: 10
          contacts:
            - { id: a, channel: fax, address: "1" }
            - { id: a, channel: mail, address: not-an-email }
        - after_minutes: 5
          contacts: [{ id: b, channel: sms, address: "" }]
`),
      { SLOPEGUARD_SMS_SECRET: 'too-short' },
    );
    expect(r.ok ? [] : r.errors).toEqual([
      '/notify/channels/sms/secret_env: the key must have at least 16 characters',
      '/notify/channels/mail/user: required with a password',
      '/notify/escalation/chains/c1/tiers/0/contacts/0/channel: no channel named "fax"',
      '/notify/escalation/chains/c1/tiers/0/contacts/1/id: a twice in one tier',
      '/notify/escalation/chains/c1/tiers/0/contacts/1/address: must be an e-mail address',
      '/notify/escalation/chains/c1/tiers/1/after_minutes: must not be before the tier above',
      '/notify/escalation/default_chain: no chain named "nobody"',
      '/notify/escalation/sites/hill-x: no chain named "ghost"',
      '/notify/retry/cap_seconds: must not be below base_seconds',
    ]);
    expect(JSON.stringify(r)).not.toContain('too-short');
    expect(JSON.stringify(r)).not.toContain('inline-pass');
  });

  it('refuses a secret given both inline and by environment, and a missing variable by name only', () => {
    const r = parseNotifyConfig(
      {
        channels: {
          a: {
            kind: 'webhook',
            url: 'https://x.example/h',
            secret: 'inline-secret-0123456789',
            secret_env: 'X',
          },
          b: { kind: 'webhook', url: 'https://x.example/h', secret_env: 'SLOPEGUARD_NOT_SET' },
          c: { kind: 'webhook', url: 'https://x.example/h' },
        },
      },
      {},
    );
    expect(r.ok ? [] : r.errors).toEqual([
      '/notify/channels/a/secret: give it in the file or through secret_env, not both',
      '/notify/channels/b/secret_env: environment variable SLOPEGUARD_NOT_SET is not set',
      '/notify/channels/c/secret: required (or secret_env)',
    ]);
  });
});
