import { Type } from '@sinclair/typebox';

/**
 * server.yaml `cluster:` (docs/deployment.md#cluster). Absent (the default): one process with its
 * own SQLite files, as before. Present: this process is one node of a broker cluster; sessions,
 * queues, retained messages and the device registry are in the cluster's Redis, messages between
 * the nodes go through it, and readings go to the shared InfluxDB (`store:` must be influxdb1/2).
 */
export const ClusterConfig = Type.Object(
  {
    node: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: "this node's name (logs, the broker id's prefix); unique in the cluster",
    }),
    redis: Type.String({
      pattern: '^rediss?://',
      description: 'redis://host:port/db of the cluster (or SLOPEGUARD_REDIS_URL, e.g. with a password)',
    }),
    control_center: Type.Boolean({
      default: false,
      description: 'also run the control center on this node (on exactly one node: it is not clustered)',
    }),
    revocation_poll_ms: Type.Integer({
      minimum: 50,
      default: 1000,
      description: 'how soon a revocation made on another node closes the sessions on this one',
    }),
  },
  { additionalProperties: false },
);

/** Checks that need more than the schema; the errors in the config's path style. */
export function clusterErrors(config: {
  cluster?: { redis: string };
  store: { type: string };
  mqtt: { persistence: string };
}): string[] {
  if (!config.cluster) return [];
  const errors: string[] = [];
  if (config.store.type === 'sqlite') {
    errors.push(
      '/store/type: a cluster needs the shared store (influxdb1 or influxdb2), not one SQLite file per node',
    );
  }
  return errors;
}
