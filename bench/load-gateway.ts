import { contractPublisher, gatewayTopic, type Telemetry } from '@slopeguard/core';
import { defaultSource, hashSeed } from '@slopeguard/simulators';
import mqtt, { type MqttClient } from 'mqtt';

/**
 * A load generator for benchmarks that need a thousand sites: one MQTT connection per site speaking
 * the contract (status, telemetry with a rising seq), without a gateway's queue or rules. It is not a
 * gateway: the demo and the tests run real edge agents (cli/demo/gateway.ts).
 */
export interface LoadGateway {
  readonly site: string;
  publishOnce(): Promise<Telemetry>;
  stop(): Promise<void>;
}

export async function startLoadGateway(o: {
  url: string;
  site: string;
  gateway: string;
  username: string;
  password: string;
}): Promise<LoadGateway> {
  const client: MqttClient = await mqtt.connectAsync(o.url, {
    clientId: o.username,
    username: o.username,
    password: o.password,
    reconnectPeriod: 1000,
  });
  const out = contractPublisher(client);
  const source = defaultSource(hashSeed(`${o.site}/${o.gateway}`));
  await out.publish(gatewayTopic(o.site, o.gateway, 'status'), {
    state: 'online',
    ts: Date.now(),
    uptimeS: 0,
  });
  let seq = 0;
  let lastTs = 0;
  return {
    site: o.site,
    async publishOnce() {
      lastTs = Math.max(Date.now(), lastTs + 1);
      const message: Telemetry = { seq: seq++, readings: source(lastTs) };
      await out.publish(gatewayTopic(o.site, o.gateway, 'telemetry'), message);
      return message;
    },
    async stop() {
      await out
        .publish(gatewayTopic(o.site, o.gateway, 'status'), { state: 'offline', ts: Date.now() })
        .catch(() => undefined);
      await client.endAsync();
    },
  };
}
