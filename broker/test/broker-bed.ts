import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import {
  type BrokerOptions,
  type BrokerService,
  type DeviceRegistry,
  openDeviceRegistry,
  openSqliteStore,
  type Store,
  startBroker,
} from '../src/index.ts';
import { silent, tempDir } from './helpers.ts';

/**
 * The set-up most broker tests share: a temporary directory with a real SQLite readings store and
 * device registry, a metrics registry of their own, and the project's broker on a free loopback
 * port authenticating against that registry (or, with `allowAnonymous`, against none: the anonymous
 * test mode). `close` ends the test's clients and undoes the rest in reverse order.
 * `storeFile` names the readings file inside the directory (one in a subdirectory the store must
 * create itself, say).
 */
export function brokerBed(prefix: string, { storeFile = 'readings.sqlite' } = {}) {
  const tmp = tempDir(prefix);
  let store: Store | undefined;
  let registry: DeviceRegistry | undefined;
  let broker: BrokerService | undefined;
  const metrics = new Registry();
  return {
    dir: tmp.dir,
    metrics,
    /** Opens the store and the registry (in beforeAll: provision accounts, then `start`). */
    open() {
      store = openSqliteStore(`${tmp.dir}/${storeFile}`);
      registry = openDeviceRegistry(`${tmp.dir}/registry.sqlite`);
      return { store, registry, metrics };
    },
    /**
     * Starts the broker; `options` add to or replace the shared ones (e.g. `auth`, `limits`,
     * `logger`); `allowAnonymous` leaves the registry out.
     */
    async start(options: Partial<BrokerOptions> = {}): Promise<BrokerService> {
      if (!store || !registry) throw new Error('brokerBed: open() first');
      broker = await startBroker({
        mqtt: { host: '127.0.0.1', port: 0 },
        store,
        logger: silent,
        metrics,
        ...(options.allowAnonymous ? {} : { auth: { registry } }),
        ...options,
      });
      return broker;
    },
    async close(clients: readonly MqttClient[] = []): Promise<void> {
      for (const c of clients) c.end(true);
      await broker?.close();
      registry?.close();
      await store?.close();
      tmp.cleanup();
    },
  };
}
