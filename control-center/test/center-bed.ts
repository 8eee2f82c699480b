import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type Store } from '@slopeguard/broker';
import pino from 'pino';
import { Registry } from 'prom-client';
import { type ControlCenter, type ControlCenterOptions, startControlCenter } from '../src/index.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';

/**
 * The control center as most of its tests run it: Debian's mosquitto as the broker, a real SQLite
 * readings store in a temporary directory of its own, HTTP on a free loopback port, no log output,
 * a metrics registry of its own and no dashboard build. `open` (the store, to write the test's
 * readings first), then `start`; `close` undoes what there is, also after a failed start.
 * `readings: false` leaves the store out, for tests of routes and feeds that read no history.
 */
export function centerBed(prefix: string, { readings = true }: { readings?: boolean } = {}) {
  let dir: string | undefined;
  let broker: Mosquitto | undefined;
  let store: Store | undefined;
  let center: ControlCenter | undefined;
  const made = (): string => {
    dir ??= mkdtempSync(join(tmpdir(), `sg-cc-${prefix}-`));
    return dir;
  };
  const open = async (): Promise<{ dir: string; broker: Mosquitto; store?: Store }> => {
    if (!broker) {
      broker = await startMosquitto();
      if (readings) store = openSqliteStore(join(made(), 'readings.sqlite'));
    }
    return { dir: made(), broker, ...(store ? { store } : {}) };
  };
  return {
    /** The temporary directory (its `readings.sqlite` is the store), made on first use. */
    get dir(): string {
      return made();
    },
    get broker(): Mosquitto {
      if (!broker) throw new Error('centerBed: open() first');
      return broker;
    },
    /** Starts mosquitto (and opens the store), for a test that needs the broker before `start`. */
    async openBroker(): Promise<Mosquitto> {
      return (await open()).broker;
    },
    /** Starts mosquitto and opens the readings store. */
    async open(): Promise<Store> {
      const opened = await open();
      if (!opened.store) throw new Error('centerBed: no readings store (readings: false)');
      return opened.store;
    },
    /**
     * Starts the control center on the store (`open` first, or `start` opens it); `options` add to
     * the shared ones (sites, clock, limits) or replace them (`store`: a wrapper of the opened one).
     */
    async start(options: Partial<ControlCenterOptions> = {}): Promise<ControlCenter> {
      const opened = await open();
      center = await startControlCenter({
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { url: opened.broker.url },
        logger: pino({ level: 'silent' }),
        metrics: new Registry(),
        ...(opened.store ? { store: opened.store } : {}),
        webRoot: join(opened.dir, 'no-web'),
        ...options,
      });
      return center;
    },
    async close(): Promise<void> {
      await center?.close();
      await broker?.stop();
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
