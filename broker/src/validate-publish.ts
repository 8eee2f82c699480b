import { type Channel, decodePayload, failureOf, parseTopic, type Telemetry } from '@slopeguard/core';

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
  | { ok: true; channel: Channel; site?: string; gateway?: string; telemetry?: Telemetry }
  | { ok: false; reason: RejectReason; errors: string[]; site?: string; gateway?: string };

/**
 * Checks a PUBLISH against the topic contract and the channel's schema. Never throws. Size and
 * depth are checked on the raw bytes before anything is parsed (core's decodePayload).
 */
export function checkPublish(topic: string, payload: Uint8Array | string): PublishVerdict {
  const parsed = parseTopic(topic);
  if (!parsed)
    return { ok: false, reason: 'topic', errors: [`topic outside the contract: ${topic.slice(0, 200)}`] };
  const site = parsed.scope === 'system' ? undefined : parsed.site;
  const gateway = parsed.scope === 'gateway' ? parsed.gateway : undefined;
  if (parsed.channel === 'telemetry') {
    const decoded = decodePayload('telemetry', payload);
    if (!decoded.ok)
      return { ok: false, reason: failureOf(decoded.errors), errors: decoded.errors, site, gateway };
    return { ok: true, channel: parsed.channel, site, gateway, telemetry: decoded.value };
  }
  const decoded = decodePayload(parsed.channel, payload);
  if (!decoded.ok)
    return { ok: false, reason: failureOf(decoded.errors), errors: decoded.errors, site, gateway };
  return { ok: true, channel: parsed.channel, site, gateway };
}
