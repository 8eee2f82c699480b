import { type Channel, decodePayload, parseTopic, type Telemetry } from '@slopeguard/core';

export type RejectReason =
  | 'topic'
  | 'not_json'
  | 'schema'
  | 'acl'
  | 'rate'
  | 'retain'
  | 'size'
  | 'depth'
  | 'store_rejected';

export type PublishVerdict =
  | { ok: true; channel: Channel; site: string; gateway?: string; telemetry?: Telemetry }
  | { ok: false; reason: RejectReason; errors: string[]; site?: string; gateway?: string };

/** Checks a PUBLISH against the topic contract and the channel's schema. Never throws. */
export function checkPublish(topic: string, payload: Uint8Array | string): PublishVerdict {
  const parsed = parseTopic(topic);
  if (!parsed)
    return { ok: false, reason: 'topic', errors: [`topic outside the contract: ${topic.slice(0, 200)}`] };
  const gateway = parsed.scope === 'gateway' ? parsed.gateway : undefined;
  const decoded = decodePayload(parsed.channel, payload);
  if (!decoded.ok) {
    const notJson = decoded.errors.length === 1 && decoded.errors[0]?.startsWith('not JSON');
    return {
      ok: false,
      reason: notJson ? 'not_json' : 'schema',
      errors: decoded.errors,
      site: parsed.site,
      gateway,
    };
  }
  if (parsed.channel === 'telemetry') {
    return {
      ok: true,
      channel: parsed.channel,
      site: parsed.site,
      gateway,
      telemetry: decoded.value as Telemetry,
    };
  }
  return { ok: true, channel: parsed.channel, site: parsed.site, gateway };
}
