/**
 * @slopeguard/broker: the MQTT broker (Aedes) with authentication, authorisation, validation and
 * limits, the recorder that makes readings durable before PUBACK, and the stores. docs/broker.md and
 * docs/storage.md describe the behaviour.
 */
export { type BrokerOptions, type BrokerService, REJECTED_TOPIC_PREFIX, startBroker } from './broker.ts';
export { BrokerError, type BrokerErrorCode } from './errors.ts';
export type { BrokerMetrics } from './metrics.ts';
export { openSqliteStore, type SqliteStoreOptions } from './store/sqlite.ts';
export type { Bucket, FieldStats, RangeQuery, Store, StoredReading } from './store/types.ts';
