import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BrokerService,
  type DeviceRegistry,
  ensurePrivateDir,
  ensurePrivateFile,
  openDeviceRegistry,
  openRedisRegistry,
  type Store,
  startBroker,
} from '@slopeguard/broker';
import { openInflux1Store } from '@slopeguard/broker/store/influx1.ts';
import { openInflux2Store } from '@slopeguard/broker/store/influx2.ts';
import { openThreadedSqliteStore } from '@slopeguard/broker/store/sqlite-thread.ts';
import { type ControlCenter, startControlCenter } from '@slopeguard/control-center';
import type { Area } from '@slopeguard/control-center/warn/area.ts';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { brokerLimits, type ServerConfig, serverNotify, serverWarn } from './config.ts';

/**
 * `slopeguard server`: broker + recorder + store + control center of one installation. The control
 * center connects to the broker as an MQTT client with its own account, which the server
 * provisions at every start with a fresh secret (only its hash is stored), so no password for it
 * lives in a file.
 */
export interface ServerHandle {
  readonly broker: BrokerService;
  /** Absent on a cluster node without `cluster.control_center`. */
  readonly center?: ControlCenter;
  readonly store: Store;
  readonly registry: DeviceRegistry;
  close(): Promise<void>;
}

async function openStore(config: ServerConfig, logger: Logger): Promise<Store> {
  const s = config.store;
  switch (s.type) {
    case 'sqlite':
      // Writes in their own thread, so that fsyncs do not stall the broker (store/sqlite-thread.ts).
      return openThreadedSqliteStore(s.path ?? join(config.data_dir, 'readings.sqlite'), {
        // Readings stay stored and readable; only their move into the main table waits.
        onMergeError: (err) =>
          logger.error({ err: err.message }, 'SQLite store: merging recent readings failed; will retry'),
      });
    case 'influxdb1':
      return openInflux1Store({
        url: s.url,
        database: s.database,
        username: s.username,
        password: s.password,
      });
    case 'influxdb2':
      return openInflux2Store({ url: s.url, org: s.org, bucket: s.bucket, token: s.token ?? '', logger });
  }
}

export async function startServer(
  config: ServerConfig,
  sites: ReadonlyMap<string, SiteConfig>,
  logger: Logger,
  /** Each site's warning area (site-files.ts); used when server.yaml has a `warn:` section. */
  areas: ReadonlyMap<string, Area> = new Map(),
): Promise<ServerHandle> {
  // Registry (scrypt hashes), sessions and readings: the data directory is the service's alone.
  ensurePrivateDir(config.data_dir);
  chmodSync(config.data_dir, 0o700);
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.error({ err }, 'shutdown step failed');
      }
    }
  };
  try {
    const metrics = new Registry();
    const store = await openStore(config, logger);
    closers.push(() => store.close());
    // A cluster node shares the registry through Redis (docs/deployment.md#cluster).
    const registry = config.cluster
      ? await openRedisRegistry({ url: config.cluster.redis, logger })
      : openDeviceRegistry(join(config.data_dir, 'registry.sqlite'));
    closers.push(() => registry.close());
    const { tcp, tls, ws } = config.mqtt;
    const sessionsPath = join(config.data_dir, 'sessions.sqlite');
    // The session store opens its own file; create it private first.
    if (config.mqtt.persistence === 'sqlite' && !config.cluster) ensurePrivateFile(sessionsPath);
    const broker = await startBroker({
      ...(tcp ? { mqtt: tcp } : {}),
      ...(tls
        ? {
            tls: {
              host: tls.host,
              port: tls.port,
              certFile: tls.cert,
              keyFile: tls.key,
              caFile: tls.ca,
              requireClientCert: tls.require_client_cert,
            },
          }
        : {}),
      ...(ws ? { ws } : {}),
      store,
      logger,
      metrics,
      auth: { registry, pollMs: config.cluster?.revocation_poll_ms },
      limits: brokerLimits(config),
      ...(config.cluster
        ? { cluster: { redis: config.cluster.redis } }
        : {
            persistence:
              config.mqtt.persistence === 'sqlite'
                ? { kind: 'sqlite' as const, path: sessionsPath }
                : { kind: 'memory' as const },
          }),
      recorder: { spillPath: join(config.data_dir, 'recorder-spill.ndjson') },
      id: config.cluster ? `slopeguard-${config.cluster.node}` : 'slopeguard-server',
    });
    closers.push(() => broker.close());
    if (config.cluster && !config.cluster.control_center) return { broker, store, registry, close: closeAll };

    const password = registry.addAccount('control-center', { role: 'control-center', replace: true });
    // The control center talks to its own broker over the loopback TCP listener (required by the
    // config schema); gateways outside use TLS or WebSocket where configured.
    const host = !tcp || tcp.host === '0.0.0.0' || tcp.host === '::' ? '127.0.0.1' : tcp.host;
    const url = `mqtt://${host.includes(':') ? `[${host}]` : host}:${broker.port}`;
    const center = await startControlCenter({
      http: config.http,
      mqtt: { url, username: 'control-center', password },
      logger,
      metrics,
      store,
      sites: {
        configs: sites,
        autoConfigure: config.auto_configure_sites,
        statePath: join(config.data_dir, 'engine-state.sqlite'),
      },
      // Users, sessions, audit, alerts: `slopeguard user add --db <data_dir>/control-center.sqlite`.
      db: { path: join(config.data_dir, 'control-center.sqlite') },
      notify: serverNotify(config),
      ...warnOption(config, areas, logger),
    });
    closers.push(() => center.close());
    return { broker, center, store, registry, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function warnOption(config: ServerConfig, areas: ReadonlyMap<string, Area>, logger: Logger) {
  const warn = serverWarn(config);
  if (!warn) {
    if (areas.size > 0)
      logger.warn(
        { areas: areas.size },
        'site files name areas but server.yaml has no warn: section; residents are not warned',
      );
    return {};
  }
  return { warn: { config: warn, areas } };
}
