import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  type BrokerService,
  openSqliteStore,
  type Store,
  type StoredReading,
  startBroker,
} from '@slopeguard/broker';
import { parseTopic } from '@slopeguard/core';
import { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { scaledClock } from '@slopeguard/edge/clock.ts';
import { parseConfig } from '@slopeguard/edge/config/load.ts';
import pino from 'pino';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE = join(ROOT, 'node_modules/.bin/node');
export const CLI = join(ROOT, 'bin/slopeguard.mjs');

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `sg-edge-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `probe` until it returns a truthy value; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Telemetered {
  seq: number;
  gateway: string;
  count: number;
  readings: { sensor: string; ts: number }[];
  /** performance.now() when the broker routed it. */
  at: number;
}

/**
 * The project's broker (@slopeguard/broker: Aedes + recorder, PUBACK only after the store has the
 * readings) on 127.0.0.1, with a store wrapper that also keeps every reading offered to it, so a test
 * can count redeliveries; the SQLite store itself is idempotent on (site, sensor, ts).
 * `stop()`/`start()` take the broker down and bring it back on the same port, as an outage.
 */
export async function testBroker(dir: string, options: { ackDelayMs?: number } = {}) {
  const inner = openSqliteStore(join(dir, 'broker-store.db'), { synchronous: 'normal' });
  const offered: StoredReading[] = [];
  const telemetry: Telemetered[] = [];
  /** Every non-telemetry message the broker routed (status, event, cmd/ack, level), in order. */
  const messages: { topic: string; body: Record<string, unknown> }[] = [];
  const store: Store = {
    write: async (batch) => {
      offered.push(...batch);
      await inner.write(batch);
      // A slow link or store: the readings are stored, the PUBACK comes later (or never, if the
      // gateway dies first), which is what makes a gateway resend.
      if (options.ackDelayMs) await new Promise((r) => setTimeout(r, options.ackDelayMs));
    },
    latest: (f) => inner.latest(f),
    range: (q) => inner.range(q),
    readings: (q) => inner.readings(q),
    count: (f) => inner.count(f),
    close: () => inner.close(),
  };
  const logger = pino({ level: 'silent' });
  let service: BrokerService | undefined;
  let port = 0;
  const start = async () => {
    service = await startBroker({
      mqtt: { host: '127.0.0.1', port },
      store,
      allowAnonymous: true,
      logger,
      // Gateways here run on accelerated clocks (hundreds of readings per real second, backlogs
      // drained at thousands per second): above the production per-gateway reading rate.
      limits: { readingsPerSecond: 1_000_000, readingBurst: 1_000_000 },
    });
    port = service.port;
    service.aedes.on('publish', (packet) => {
      const t = parseTopic(packet.topic);
      if (!t) return;
      if (t.scope !== 'gateway' || t.channel !== 'telemetry') {
        messages.push({
          topic: packet.topic,
          body: JSON.parse(packet.payload.toString()) as Record<string, unknown>,
        });
        return;
      }
      const body = JSON.parse(packet.payload.toString()) as {
        seq: number;
        readings: { sensor: string; ts: number }[];
      };
      const readings = body.readings.map((r) => ({ sensor: r.sensor, ts: r.ts }));
      telemetry.push({
        seq: body.seq,
        gateway: t.gateway,
        count: readings.length,
        readings,
        at: performance.now(),
      });
    });
  };
  await start();
  return {
    get port() {
      return port;
    },
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    /** Drops one client's TCP connection without a DISCONNECT, as a dead 4G link does. */
    dropClient(clientId: string) {
      if (!service) throw new Error('broker is down');
      // `clients` is an Aedes field missing from its type declarations.
      const { clients } = service.aedes as unknown as {
        clients: Record<string, { conn: { destroy(): void } }>;
      };
      clients[clientId]?.conn.destroy();
    },
    /**
     * Publishes from inside the broker (as the broker publishes its own messages, e.g. its clock),
     * past the checks it applies to clients.
     */
    publish(topic: string, payload: string): Promise<void> {
      const s = service;
      if (!s) return Promise.reject(new Error('broker is down'));
      return new Promise((resolve, reject) =>
        s.aedes.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    },
    offered,
    telemetry,
    messages,
    on: (topic: string) => messages.filter((m) => m.topic === topic).map((m) => m.body),
    store: inner,
    start,
    async stop() {
      await service?.close();
      service = undefined;
    },
    async close() {
      await service?.close();
      await inner.close();
    },
  };
}
export type TestBroker = Awaited<ReturnType<typeof testBroker>>;

export function writeConfig(dir: string, name: string, config: object): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** The gateway as a real child process: `node bin/slopeguard.mjs edge --config ...`. */
export function spawnEdge(
  config: string,
  extra: string[],
  logFile: string,
  env: Record<string, string> = {},
): ChildProcess {
  const out = openSync(logFile, 'a');
  return spawn(NODE, [CLI, 'edge', '--config', config, ...extra], {
    cwd: ROOT,
    stdio: ['ignore', out, out],
    env: { ...process.env, SLOPEGUARD_MQTT_PASSWORD: '', ...env },
  });
}

/** Throws with the gateway's log when the child has exited, so a waitFor fails with the reason. */
export function assertRunning(child: ChildProcess | undefined, logFile: string): void {
  if (child && child.exitCode === null && child.signalCode === null) return;
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8').slice(-3000);
  } catch {}
  throw new Error(`gateway exited (${child?.exitCode ?? child?.signalCode}):\n${text}`);
}

export async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}

/** The JSON lines a simulated output wrote, one per switch. */
export function outputLog(file: string): { id: string; on: boolean; ts: number; reason: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { id: string; on: boolean; ts: number; reason: string });
}

/** Reads the readings a gateway has committed to its queue file (a reader in WAL mode sees every commit). */
export function queuedReadings(dbFile: string): { sensor: string; ts: number; body: string }[] {
  const db = new DatabaseSync(dbFile);
  try {
    return db.prepare('SELECT sensor, ts, body FROM readings ORDER BY id').all() as {
      sensor: string;
      ts: number;
      body: string;
    }[];
  } finally {
    db.close();
  }
}

export function queueMeta(dbFile: string, key: string): string | undefined {
  const db = new DatabaseSync(dbFile);
  try {
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  } finally {
    db.close();
  }
}

/** An in-process gateway on a scaled clock, from a config object run through the real loader. */
export async function startAgent(config: object, scale: number, file?: string): Promise<EdgeAgent> {
  const r = parseConfig(stringify(config));
  if (!r.ok) throw new Error(`test config invalid: ${r.errors.join('; ')}`);
  const now = Date.now();
  const agent = new EdgeAgent({
    config: r.config,
    ...(file ? { configPath: file } : {}),
    clock: scaledClock(scale, now, now),
    logger: pino({ level: 'silent' }),
    version: 'test',
  });
  await agent.start();
  return agent;
}
