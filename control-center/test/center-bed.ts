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
 */
export function centerBed(prefix: string) {
  let dir: string | undefined;
  let broker: Mosquitto | undefined;
  let store: Store | undefined;
  let center: ControlCenter | undefined;
  const open = async (): Promise<{ dir: string; broker: Mosquitto; store: Store }> => {
    if (!dir || !broker || !store) {
      dir = mkdtempSync(join(tmpdir(), `sg-cc-${prefix}-`));
      broker = await startMosquitto();
      store = openSqliteStore(join(dir, 'readings.sqlite'));
    }
    return { dir, broker, store };
  };
  return {
    /** The temporary directory (its `readings.sqlite` is the store). */
    get dir(): string {
      if (!dir) throw new Error('centerBed: open() first');
      return dir;
    },
    get broker(): Mosquitto {
      if (!broker) throw new Error('centerBed: open() first');
      return broker;
    },
    /** Starts mosquitto and opens the readings store. */
    async open(): Promise<Store> {
      return (await open()).store;
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
        store: opened.store,
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
