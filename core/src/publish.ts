import {
  CHANNEL_OPTIONS,
  type Channel,
  type ChannelPayload,
  type ParsedTopic,
  parseTopic,
  type Topic,
  TopicError,
} from './topics.ts';
import { type DecodeFailure, decodePayload, encodePayload, failureOf } from './validate.ts';

/**
 * The one way a contract message goes onto the wire and comes off it. `publish(topic, payload)`
 * takes the payload type, the QoS and the retain flag from the topic's channel (CHANNEL_OPTIONS),
 * so no caller builds contract JSON by hand or picks its own QoS; `decode(topic, bytes)` reads the
 * channel from the topic and returns the payload typed by it, so no caller casts.
 *
 * Core has no MQTT client: the sink is whatever can send a PUBLISH (mqtt.js's client fits as it
 * is; the broker adapts Aedes's `publish(packet)`).
 */
export interface PublishSink {
  publish(
    topic: string,
    payload: string,
    options: { qos: 0 | 1; retain: boolean },
    callback: (err?: Error) => void,
  ): unknown;
}

/** A contract message ready for any MQTT API: topic, bytes, and the channel's QoS and retain. */
export interface ContractMessage {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

function channelOf(topic: string): Channel {
  const parsed = parseTopic(topic);
  // A Topic comes from the builders, so this only trips on a forged one.
  if (!parsed) throw new TopicError(`not a contract topic: ${topic.slice(0, 200)}`);
  return parsed.channel;
}

/** The message for `topic`, its payload checked against the channel's type at compile time. */
export function contractMessage<C extends Channel>(
  topic: Topic<C>,
  payload: ChannelPayload[C],
): ContractMessage {
  const channel = channelOf(topic) as C;
  return { topic, payload: encodePayload(channel, payload), ...CHANNEL_OPTIONS[channel] };
}

export interface ContractPublisher {
  /** Resolves when the broker acknowledged (QoS 1) or the message left (QoS 0). */
  publish<C extends Channel>(topic: Topic<C>, payload: ChannelPayload[C]): Promise<void>;
  /**
   * A payload that `encodePayload` made earlier for the same channel and that was kept as bytes
   * (the gateway's durable queue stores telemetry batches and events encoded).
   */
  publishEncoded<C extends Channel>(topic: Topic<C>, encoded: string): Promise<void>;
}

export function contractPublisher(sink: PublishSink): ContractPublisher {
  const send = (topic: string, payload: string, options: { qos: 0 | 1; retain: boolean }) =>
    new Promise<void>((resolve, reject) => {
      sink.publish(topic, payload, options, (err) => (err ? reject(err) : resolve()));
    });
  return {
    publish: (topic, payload) => {
      const m = contractMessage(topic, payload);
      return send(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    },
    publishEncoded: (topic, encoded) => send(topic, encoded, CHANNEL_OPTIONS[channelOf(topic)]),
  };
}

/** A decoded contract message: switch on `channel` and `value` has that channel's type. */
export type DecodedMessage = {
  [C in Channel]: { ok: true; channel: C; topic: ParsedTopic; value: ChannelPayload[C] };
}[Channel];

export type DecodeResult =
  | DecodedMessage
  | { ok: false; reason: 'topic' | DecodeFailure; errors: string[]; topic?: ParsedTopic };

/**
 * Reads a PUBLISH off the wire: the topic against the contract, then the bytes against the
 * channel's bounds and schema. Never throws; a refusal says why (`reason`, for counters).
 */
export function decode(topic: string, bytes: Uint8Array | string): DecodeResult {
  const parsed = parseTopic(topic);
  if (!parsed)
    return { ok: false, reason: 'topic', errors: [`topic outside the contract: ${topic.slice(0, 200)}`] };
  const d = decodePayload(parsed.channel, bytes);
  if (!d.ok) return { ok: false, reason: failureOf(d.errors), errors: d.errors, topic: parsed };
  // The union member is picked by parsed.channel, which decodePayload validated against.
  return { ok: true, channel: parsed.channel, topic: parsed, value: d.value } as DecodedMessage;
}
