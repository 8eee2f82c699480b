import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The broker's Prometheus metrics (docs/broker.md#metrics). Registered in the caller's registry; a
 * metric already registered under the same name (a second broker on a shared registry, as in tests)
 * is reused rather than registered twice, which prom-client would refuse.
 */
export interface BrokerMetrics {
  rejected: Counter<'reason'>;
  rejectedByGateway: Counter<'site' | 'gateway' | 'reason'>;
  readingsReceived: Counter;
  readingsStored: Counter;
  storeWriteSeconds: Histogram;
  publishToDurableSeconds: Histogram;
  connections: Gauge;
  connectionsTotal: Counter;
  refusedConnections: Counter<'reason'>;
  messagesIn: Counter<'channel'>;
  messagesOut: Counter;
  gatewayLastSeen: Gauge<'site' | 'gateway'>;
  seqGaps: Counter<'site' | 'gateway'>;
  readingsRefused: Counter<'site' | 'gateway' | 'reason'>;
  gatewayClockAhead: Gauge<'site' | 'gateway'>;
  recorderBuffered: Gauge;
  spilledReadings: Gauge;
  storeErrors: Counter;
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  const existing = registry.getSingleMetric(name);
  return existing ? (existing as unknown as T) : make();
}

export function createBrokerMetrics(registry: Registry): BrokerMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    reuse(registry, name, () => new Counter<L>({ name, help, labelNames, registers }));
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    reuse(registry, name, () => new Gauge<L>({ name, help, labelNames, registers }));
  const histogram = (name: string, help: string, buckets: number[]) =>
    reuse(registry, name, () => new Histogram({ name, help, buckets, registers }));
  const latency = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    rejected: counter(
      'slopeguard_broker_rejected_total',
      'Publishes, subscribes and connects refused, by reason',
      ['reason'],
    ),
    rejectedByGateway: counter(
      'slopeguard_broker_rejected_by_gateway_total',
      'Publishes refused, per authenticated gateway and reason',
      ['site', 'gateway', 'reason'],
    ),
    readingsReceived: counter('slopeguard_broker_readings_received_total', 'Valid readings received'),
    readingsStored: counter(
      'slopeguard_broker_readings_stored_total',
      'Readings made durable (in the store or the spill file)',
    ),
    storeWriteSeconds: histogram(
      'slopeguard_broker_store_write_seconds',
      'Duration of one store write',
      latency,
    ),
    publishToDurableSeconds: histogram(
      'slopeguard_broker_publish_to_durable_seconds',
      'From a telemetry PUBLISH arriving to its readings being durable',
      latency,
    ),
    connections: gauge('slopeguard_broker_connections', 'Clients currently connected'),
    connectionsTotal: counter('slopeguard_broker_connections_total', 'Client connections accepted'),
    refusedConnections: counter(
      'slopeguard_broker_refused_connections_total',
      'CONNECTs refused, by reason',
      ['reason'],
    ),
    messagesIn: counter('slopeguard_broker_messages_in_total', 'PUBLISH packets received, by channel', [
      'channel',
    ]),
    messagesOut: counter('slopeguard_broker_messages_out_total', 'PUBLISH packets delivered to subscribers'),
    gatewayLastSeen: gauge(
      'slopeguard_broker_gateway_last_seen_seconds',
      'Unix time of the last valid message from a gateway',
      ['site', 'gateway'],
    ),
    seqGaps: counter(
      'slopeguard_broker_seq_gaps_total',
      'Telemetry messages missing between consecutive seq numbers of a gateway',
      ['site', 'gateway'],
    ),
    readingsRefused: counter(
      'slopeguard_broker_readings_refused_total',
      'Readings refused one by one inside an accepted message (sensors over the bound, ts in the future)',
      ['site', 'gateway', 'reason'],
    ),
    gatewayClockAhead: gauge(
      'slopeguard_broker_gateway_clock_ahead_seconds',
      'How far ahead of the broker clock the latest telemetry message of a gateway was (0: none refused as future)',
      ['site', 'gateway'],
    ),
    recorderBuffered: gauge('slopeguard_broker_recorder_buffered_readings', 'Readings waiting for the store'),
    spilledReadings: gauge(
      'slopeguard_broker_spilled_readings',
      'Readings in the spill file awaiting the store',
    ),
    storeErrors: counter('slopeguard_broker_store_errors_total', 'Failed store writes (retried)'),
  };
}
