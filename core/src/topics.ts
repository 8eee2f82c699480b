import { isId } from './ids.ts';
import type {
  BrokerClock,
  Command,
  CommandAck,
  GatewayEvent,
  SiteLevel,
  SiteNotice,
  Status,
  Telemetry,
} from './schemas/messages.ts';

/**
 * The topic contract (docs/protocol.md). Every topic in the system is built by `topic()` and read by
 * `parseTopic()`; nobody concatenates topic strings by hand.
 */
export const TOPIC_ROOT = 'slopeguard/v1';

export interface GatewayTopics {
  telemetry: Telemetry;
  status: Status;
  event: GatewayEvent;
  cmd: Command;
  'cmd/ack': CommandAck;
}
export interface SiteTopics {
  level: SiteLevel;
  notice: SiteNotice;
}
/** Topics of the whole installation: `slopeguard/v1/{channel}`. */
export interface SystemTopics {
  clock: BrokerClock;
}
export type GatewayChannel = keyof GatewayTopics;
export type SiteChannel = keyof SiteTopics;
export type SystemChannel = keyof SystemTopics;
export type Channel = GatewayChannel | SiteChannel | SystemChannel;
/** The payload type of every channel: decodePayload and encodePayload are typed by it. */
export type ChannelPayload = GatewayTopics & SiteTopics & SystemTopics;

export const GATEWAY_CHANNELS: readonly GatewayChannel[] = ['telemetry', 'status', 'event', 'cmd', 'cmd/ack'];
export const SITE_CHANNELS: readonly SiteChannel[] = ['level', 'notice'];
export const SYSTEM_CHANNELS: readonly SystemChannel[] = ['clock'];

/**
 * QoS and retain per channel, as the contract table says. Only `status`, `level` and `notice` are retained;
 * the broker refuses a retained publish anywhere else (a retained command would run again at every
 * reconnect of its gateway).
 */
export const CHANNEL_OPTIONS: Readonly<Record<Channel, { qos: 0 | 1; retain: boolean }>> = {
  telemetry: { qos: 1, retain: false },
  status: { qos: 1, retain: true },
  event: { qos: 1, retain: false },
  cmd: { qos: 1, retain: false },
  'cmd/ack': { qos: 1, retain: false },
  level: { qos: 1, retain: true },
  notice: { qos: 1, retain: true },
  // The time is only worth having fresh: a lost or stale one is simply superseded.
  clock: { qos: 0, retain: false },
};

export class TopicError extends Error {
  readonly code = 'SG_ERR_TOPIC';
}

function checkId(what: string, id: string): void {
  // Refuses '+', '#', '/' and everything else outside the id pattern, so a topic built here is never
  // a wildcard and never has an unexpected depth.
  if (!isId(id)) throw new TopicError(`invalid ${what} id ${JSON.stringify(id)}`);
}

declare const channelOf: unique symbol;
/**
 * A concrete contract topic that carries its channel in its type, so `publish(topic, payload)` can
 * check the payload against that channel. Only the builders below make one; it is still a string
 * for subscriptions, logs and comparisons.
 */
export type Topic<C extends Channel = Channel> = string & { readonly [channelOf]: C };

export function gatewayTopic<C extends GatewayChannel>(site: string, gateway: string, channel: C): Topic<C> {
  checkId('site', site);
  checkId('gateway', gateway);
  return `${TOPIC_ROOT}/${site}/${gateway}/${channel}` as Topic<C>;
}

export function siteTopic<C extends SiteChannel>(site: string, channel: C): Topic<C> {
  checkId('site', site);
  return `${TOPIC_ROOT}/${site}/${channel}` as Topic<C>;
}

export function systemTopic<C extends SystemChannel>(channel: C): Topic<C> {
  return `${TOPIC_ROOT}/${channel}` as Topic<C>;
}

/** Subscription filters. `site`/`gateway` default to the single-level wildcard. */
export function gatewayFilter(channel: GatewayChannel | '#', site = '+', gateway = '+'): string {
  if (site !== '+') checkId('site', site);
  if (gateway !== '+') checkId('gateway', gateway);
  return `${TOPIC_ROOT}/${site}/${gateway}/${channel}`;
}

export function siteFilter(channel: SiteChannel, site = '+'): string {
  if (site !== '+') checkId('site', site);
  return `${TOPIC_ROOT}/${site}/${channel}`;
}

export type ParsedTopic =
  | { scope: 'gateway'; site: string; gateway: string; channel: GatewayChannel }
  | { scope: 'site'; site: string; channel: SiteChannel }
  | { scope: 'system'; channel: SystemChannel };

/** Reads a concrete topic; returns undefined for anything outside the contract. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(`${TOPIC_ROOT}/`)) return undefined;
  const parts = topic.slice(TOPIC_ROOT.length + 1).split('/');
  const [site, second, third, fourth] = parts;
  if (parts.length === 1 && (SYSTEM_CHANNELS as readonly string[]).includes(parts[0] as string)) {
    return { scope: 'system', channel: parts[0] as SystemChannel };
  }
  if (site === undefined || !isId(site) || second === undefined) return undefined;
  if (parts.length === 2) {
    return (SITE_CHANNELS as readonly string[]).includes(second)
      ? { scope: 'site', site, channel: second as SiteChannel }
      : undefined;
  }
  if (!isId(second) || third === undefined || parts.length > 4) return undefined;
  const channel = fourth === undefined ? third : `${third}/${fourth}`;
  if (!(GATEWAY_CHANNELS as readonly string[]).includes(channel)) return undefined;
  return { scope: 'gateway', site, gateway: second, channel: channel as GatewayChannel };
}
