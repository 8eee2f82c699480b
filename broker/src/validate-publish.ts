import { type Channel, decode, type Telemetry } from '@slopeguard/core';

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
 * depth are checked on the raw bytes before anything is parsed (core's decode).
 */
export function checkPublish(topic: string, payload: Uint8Array | string): PublishVerdict {
  const d = decode(topic, payload);
  const parsed = d.topic;
  const site = parsed === undefined || parsed.scope === 'system' ? undefined : parsed.site;
  const gateway = parsed?.scope === 'gateway' ? parsed.gateway : undefined;
  if (!d.ok) return { ok: false, reason: d.reason, errors: d.errors, site, gateway };
  if (d.channel === 'telemetry') return { ok: true, channel: d.channel, site, gateway, telemetry: d.value };
  return { ok: true, channel: d.channel, site, gateway };
}
