/**
 * @slopeguard/broker: the MQTT broker (Aedes) with authentication, authorisation, validation and
 * limits, the recorder that makes readings durable before PUBACK, and the stores. docs/broker.md and
 * docs/storage.md describe the behaviour.
 */

export { clientIdAllowed, covers, mayPublish, maySubscribe, subscribePatterns } from './auth/acl.ts';
export {
  openRedisRegistry,
  type RedisDeviceRegistry,
  type RedisRegistryOptions,
} from './auth/redis-registry.ts';
export {
  type Account,
  type DeviceRegistry,
  gatewayUsername,
  openDeviceRegistry,
  ROLES,
  type Role,
  type ServiceRole,
  type VerifyResult,
} from './auth/registry.ts';
export { type BrokerOptions, type BrokerService, REJECTED_TOPIC_PREFIX, startBroker } from './broker.ts';
export { type CertFiles, createCa, createDeviceCert, createServerCert } from './certs.ts';
export { BrokerError, type BrokerErrorCode } from './errors.ts';
export { ensurePrivateDir, ensurePrivateFile } from './files.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export type { TcpListenerOptions, TlsListenerOptions, WsListenerOptions } from './listeners.ts';
export type { BrokerMetrics } from './metrics.ts';
export type { PersistenceOptions } from './persistence/index.ts';
export type { Recorder, RecorderOptions } from './recorder.ts';
export { openSqliteStore, type SqliteStoreOptions } from './store/sqlite.ts';
export type { Bucket, FieldStats, RangeQuery, ReadingsQuery, Store, StoredReading } from './store/types.ts';
export { DEFAULT_PAGE, MAX_PAGE } from './store/types.ts';
