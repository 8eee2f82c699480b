import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePayload, type SensorKind, type Telemetry } from '@slopeguard/core';
import { childLogger } from '@slopeguard/core/log.ts';
import { EdgeAgent, loadConfigFile, systemClock, VERSION } from '@slopeguard/edge';
import { privateDir } from '@slopeguard/edge/agent-support.ts';
import { createDriverFor } from '@slopeguard/edge/drivers/index.ts';
import {
  createStoryDriver,
  DEFAULT_SOURCE_SENSORS,
  defaultSource,
  hashSeed,
  type ReadingSource,
  type SiteStory,
  type StoryDriver,
} from '@slopeguard/simulators';
import type { Logger } from 'pino';

/**
 * One of the demo's sites: a real gateway agent (edge/src/agent.ts, the code a field gateway runs)
 * with its config file, password file and durable queue under `<data-dir>/gateways/<site>.<gateway>/`,
 * its local rules and a simulated siren. Its only simulated part is the driver: the story's sensors
 * (simulators/src/story-driver.ts) plugged in where a serial or MQTT driver would be.
 */
export interface DemoGatewayOptions {
  dataDir: string;
  mqttUrl: string;
  site: string;
  gateway: string;
  username: string;
  password: string;
  /** The site's part in the demo's story; without it, `source` or the plain walking-skeleton signal. */
  story?: SiteStory;
  /** Without a story: the readings of one instant, and the sensors it reports (for the local rules). */
  source?: { readings: ReadingSource; sensors: readonly { id: string; kind: SensorKind }[] };
  /** The story's history waits for this too (the demo: every site is up), besides the uplink. */
  historyAfter?: Promise<void>;
  /** Live sampling interval without a story; 0 = only on `publishOnce` (tests, benchmarks). */
  intervalMs: number;
  logger: Logger;
}

export interface DemoGateway {
  readonly site: string;
  readonly gateway: string;
  readonly agent: EdgeAgent;
  /** The uplink to the broker is up. */
  readonly connected: boolean;
  /** The gateway's directory: config, password file, queue.db, siren.jsonl. */
  readonly dir: string;
  /**
   * Takes one sample now and resolves with the telemetry message that carried it, once the broker
   * acknowledged it (so the central store has it). For tests with `intervalMs: 0`: with live sampling
   * the message may carry other readings too.
   */
  publishOnce(): Promise<Telemetry>;
  /**
   * Resolves when the history (if any) has been handed over and every reading of it acknowledged,
   * with the newest timestamp delivered by then.
   */
  readonly live: Promise<number>;
  stop(): Promise<void>;
}

/** The driver id the story's sensors take in the gateway config. */
const STORY_DRIVER = 'story';

export async function startDemoGateway(o: DemoGatewayOptions): Promise<DemoGateway> {
  const dir = join(o.dataDir, 'gateways', `${o.site}.${o.gateway}`);
  const log = childLogger(o.logger, { site: o.site, gateway: o.gateway });
  privateDir(dir, log);
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${o.password}\n`, { mode: 0o600 });
  const cadenceMs = o.story?.cadenceMs ?? o.intervalMs;
  const sensors =
    o.story?.config?.sensors.map((s) => ({ id: s.id, kind: s.kind })) ??
    o.source?.sensors ??
    DEFAULT_SOURCE_SENSORS;
  const { id: _id, ...engine } = o.story?.config ?? { id: '' };
  const configPath = join(dir, 'gateway.yaml');
  // A gateway config as an installer writes it (JSON is YAML), read back by the gateway's own loader.
  const config = {
    site: o.site,
    gateway: o.gateway,
    dataDir: dir,
    uplink: {
      url: o.mqttUrl,
      username: o.username,
      passwordFile,
      reconnectMinMs: 500,
      // The 24 h history (about 100,000 readings at the storm site) goes out in full batches, with
      // no pause between live batches; the field defaults pace a backlog for a thin uplink instead.
      batchMaxReadings: 1000,
      batchIntervalMs: 0,
      backlogRatePerS: 100_000,
      maxInflight: 16,
    },
    // The story's sensors, so the local rules know them; the demo plugs the story's driver in here.
    drivers: [
      {
        driver: 'synthetic',
        id: STORY_DRIVER,
        sensors: sensors.map((s) => ({ id: s.id, kind: s.kind, intervalMs: Math.max(cadenceMs, 1000) })),
      },
    ],
    ...(o.story?.config ? { engine } : {}),
    outputs: [{ kind: 'simulated', id: 'siren', atLevel: 3, file: join(dir, 'siren.jsonl') }],
    log: { level: o.logger.level },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const loaded = loadConfigFile(configPath, {});
  if (!loaded.ok) throw new Error(`demo gateway ${o.site}: ${loaded.errors.join('; ')}`);

  let driver: StoryDriver | undefined;
  const agent = new EdgeAgent({
    config: loaded.config,
    configPath,
    clock: systemClock,
    logger: o.logger,
    version: VERSION,
    createDriver: async (entry, clock, logger) => {
      if (entry.id !== STORY_DRIVER) return createDriverFor(entry, clock, logger);
      driver = createStoryDriver({
        id: STORY_DRIVER,
        source: o.story?.source ?? o.source?.readings ?? defaultSource(hashSeed(`${o.site}/${o.gateway}`)),
        cadenceMs,
        ...(o.story
          ? {
              history: o.story.backfill(),
              startAfter: Promise.all([agent.whenConnected(), o.historyAfter]).then(() => undefined),
            }
          : {}),
        now: () => clock.now(),
      });
      return driver;
    },
  });
  await agent.start();
  await agent.whenConnected();
  const story = driver;
  if (!story) throw new Error(`demo gateway ${o.site}: the story driver did not start`);

  /** Resolves once every reading committed so far has been acknowledged by the broker. */
  const delivered = (): Promise<void> => {
    agent.forwarder.pump();
    const upTo = agent.queue.lastId;
    return new Promise((resolve) => {
      const check = () => {
        if (agent.queue.remainingUpTo(upTo) > 0) return;
        off();
        resolve();
      };
      const off = agent.forwarder.onCommitted(check);
      check();
    });
  };
  const live = story.historyDone.then(delivered).then(() => story.lastTs);
  live.catch(() => undefined);

  return {
    site: o.site,
    gateway: o.gateway,
    agent,
    dir,
    live,
    get connected() {
      return agent.connected;
    },
    publishOnce() {
      story.sampleNow();
      agent.forwarder.pump();
      const upTo = agent.queue.lastId;
      return new Promise((resolve, reject) => {
        const off = agent.forwarder.onAcked((b) => {
          if (b.firstId > upTo || b.lastId < upTo) return;
          off();
          const d = decodePayload('telemetry', b.payload);
          if (d.ok) resolve(d.value);
          else reject(new Error(`the queue cut an invalid batch: ${d.errors.join('; ')}`));
        });
      });
    },
    stop: () => agent.stop(),
  };
}
