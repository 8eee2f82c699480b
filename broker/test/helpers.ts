import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Reading, Telemetry } from '@slopeguard/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import type { Registry } from 'prom-client';

export const silent = pino({ level: 'silent' });

/**
 * A metric's value from the test's own registry: the first sample of `name` whose line holds
 * `labels` (`'reason="size"'`), or its first sample when `labels` is empty; 0 while it has none.
 */
export async function metricValue(registry: Registry, name: string, labels = ''): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

export function tempDir(prefix = 'sg-broker-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tilt(sensor: string, ts: number, x = 0.1, y = -0.2): Reading {
  return { sensor, kind: 'tilt', ts, values: { x, y } };
}

export function telemetry(seq: number, readings: Reading[]): Telemetry {
  return { seq, readings };
}

/** Connects an MQTT.js client; rejects on the first error or close before CONNACK (bounded). */
export function connect(port: number, opts: IClientOptions = {}, timeoutMs = 5000): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: '127.0.0.1',
      port,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...opts,
    });
    const timer = setTimeout(() => {
      client.end(true);
      reject(new Error('connect timeout'));
    }, timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.once('error', (err) => {
      clearTimeout(timer);
      client.end(true);
      reject(err);
    });
    client.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed before CONNACK'));
    });
  });
}

/** Resolves with `value()` once `cond()` holds, polling on a short interval; rejects after timeoutMs. */
export async function until<T>(
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Makes every merge of the SQLite store's ingest partitions into `readings` fail (a trigger, from
 * a connection of its own), as a full disk would. `allow()` drops the trigger; `close()` ends it.
 */
export function refuseMerges(path: string): { db: DatabaseSync; allow(): void; close(): void } {
  const db = new DatabaseSync(path);
  db.exec(
    "CREATE TRIGGER no_merge BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'merge refused'); END",
  );
  return { db, allow: () => db.exec('DROP TRIGGER no_merge'), close: () => db.close() };
}
