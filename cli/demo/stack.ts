import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BrokerService, openSqliteStore, type Store, startBroker } from '@slopeguard/broker';
import { type ControlCenter, startControlCenter } from '@slopeguard/control-center';
import { type SimGateway, startSimGateway } from '@slopeguard/simulators';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';

/**
 * The whole chain in one process, on embedded defaults: Aedes broker with the recorder writing to
 * SQLite, the control center, and simulated gateways that are real MQTT clients. Used by
 * `slopeguard demo`, the end-to-end test and the pipeline benchmark.
 */
export interface DemoOptions {
  host: string;
  mqttPort: number;
  httpPort: number;
  dataDir: string;
  sites: number;
  /** Sampling interval of the simulated gateways; 0 = they publish only when told (tests, bench). */
  intervalMs: number;
  logger: Logger;
}

export interface DemoStack {
  readonly mqttUrl: string;
  readonly dashboardUrl: string;
  readonly dbPath: string;
  readonly store: Store;
  readonly broker: BrokerService;
  readonly center: ControlCenter;
  readonly gateways: readonly SimGateway[];
  readonly metrics: Registry;
  close(): Promise<void>;
}

export const DEMO_SITES = ['demo-a', 'demo-b', 'demo-c', 'demo-d', 'demo-e', 'demo-f', 'demo-g', 'demo-h'];

export async function startDemoStack(o: DemoOptions): Promise<DemoStack> {
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, 'readings.sqlite');
  const metrics = new Registry();
  const store = openSqliteStore(dbPath);
  const closers: Array<() => Promise<void>> = [async () => store.close()];
  const closeAll = async () => {
    // Reverse order of start: producers first, the store last, so that every acknowledged reading
    // has been written before the file is closed.
    for (const c of closers.reverse())
      await c().catch((err) => o.logger.error({ err }, 'shutdown step failed'));
  };
  try {
    const broker = await startBroker({
      mqtt: { host: o.host, port: o.mqttPort },
      store,
      logger: o.logger,
      metrics,
      // TODO(issue 5): provision the simulated gateways and the control center in the device
      // registry instead of anonymous access, once the registry lands.
      allowAnonymous: true,
    });
    closers.push(() => broker.close());
    const mqttHost = o.host.includes(':') ? `[${o.host}]` : o.host;
    const mqttUrl = `mqtt://${mqttHost}:${broker.port}`;
    const center = await startControlCenter({
      http: { host: o.host, port: o.httpPort },
      mqtt: { url: mqttUrl },
      logger: o.logger,
      metrics,
      store,
    });
    closers.push(() => center.close());
    const gateways: SimGateway[] = [];
    for (const site of DEMO_SITES.slice(0, o.sites)) {
      const gw = await startSimGateway({ url: mqttUrl, site, gateway: 'gw-1', intervalMs: o.intervalMs });
      gateways.push(gw);
      closers.push(() => gw.stop());
    }
    return {
      mqttUrl,
      dashboardUrl: center.url,
      dbPath,
      store,
      broker,
      center,
      gateways,
      metrics,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
