import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { LiveView, type SensorView } from './live-view.ts';
import { startMqttFeed } from './mqtt-feed.ts';
import { startRealtime } from './realtime.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerSiteRoutes } from './routes/sites.ts';
import { registerWebRoutes } from './routes/web.ts';

/** The part of a Store the control center reads at start-up (structurally the broker's Store). */
export interface LatestReadings {
  latest(filter?: { site?: string }): Promise<ReadonlyArray<SensorView & { site: string }>>;
}

export interface ControlCenterOptions {
  http: { host: string; port: number };
  mqtt: { url: string; username?: string; password?: string };
  logger: Logger;
  metrics: Registry;
  store?: LatestReadings;
  /** Folder of the built dashboard; defaults to control-center/dist/web. */
  webRoot?: string;
}

export interface ControlCenter {
  readonly url: string;
  readonly port: number;
  readonly view: LiveView;
  close(): Promise<void>;
}

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

export async function startControlCenter(options: ControlCenterOptions): Promise<ControlCenter> {
  const logger = options.logger.child({ component: 'control-center' });
  const view = new LiveView();
  if (options.store) {
    // Seed the picture from the store so a restarted control center does not show empty sites.
    for (const r of await options.store.latest()) view.applyReadings(r.site, r.gateway, [r], r.ts);
  }

  // pino's Logger and Fastify's base logger differ only in generic parameters; the instance is the same.
  const httpLogger = logger.child({ component: 'http' }) as FastifyBaseLogger;
  // Per-request logs would drown the gateway and alert logs; errors are still logged.
  const app = Fastify({
    loggerInstance: httpLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerSiteRoutes(app, view);
  registerMetricsRoute(app, options.metrics);
  await registerWebRoutes(app, options.webRoot ?? DEFAULT_WEB_ROOT);
  await app.listen({ host: options.http.host, port: options.http.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.http.port;

  const realtime = startRealtime(app.server, view, logger);
  const feed = await startMqttFeed({
    ...options.mqtt,
    clientId: `${options.mqtt.username ?? 'control-center'}-${port}`,
    view,
    logger: logger.child({ component: 'mqtt-feed' }),
    metrics: options.metrics,
    onEvent: (e) => realtime.publish(e),
  });

  const host = options.http.host.includes(':') ? `[${options.http.host}]` : options.http.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    view,
    async close() {
      await feed.close();
      await realtime.close();
      await app.close();
    },
  };
}
