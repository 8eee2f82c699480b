/**
 * Shared by the control-center benchmarks (alerts, realtime): `slopeguard server` as a child process
 * (broker, recorder with its SQLite store, control center, notification outbox: one process, as
 * installed) with N configured sites of 20 sensors each, and the sites' gateways as MQTT clients in
 * this process, each publishing one telemetry message of 20 readings per second. The server's own
 * CPU time and memory are read from /proc, apart from this process's load generator.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDeviceRegistry } from '@slopeguard/broker';
import { gatewayTopic, type Reading } from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const CLI = join(ROOT, 'bin/slopeguard.mjs');
export const SENSORS_PER_SITE = 20;
/** Gateways connecting at once: the broker limits authentications in flight per address. */
const CONNECT_BATCH = 4;

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => ok(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export const siteId = (i: number) => `bench-${String(i).padStart(4, '0')}`;

function siteFile(site: string): string {
  const sensors = ['  - { id: rain-1, kind: rain, intervalMs: 1000 }'];
  for (let k = 1; k < SENSORS_PER_SITE; k++)
    sensors.push(`  - { id: tilt-${k}, kind: tilt, intervalMs: 1000 }`);
  return `id: ${site}\nsensors:\n${sensors.join('\n')}\n`;
}

export interface CenterServer {
  readonly dir: string;
  readonly pid: number;
  readonly httpUrl: string;
  readonly mqttUrl: string;
  readonly gateways: MqttClient[];
  /** A read-only observer account's connection (every site's level, as a siren or signboard sees it). */
  readonly observer: MqttClient;
  /** Makes the next message of site i carry this much rain (mm) in its rain reading. */
  rainOnce(i: number, mm: number): void;
  /** Starts publishing every site once a second, spread over the second; returns a stop function. */
  startLoad(onPublish?: (site: number, at: number) => void): () => { published: number; failed: number };
  /** The server's CPU seconds (user + system) and resident memory, from /proc. */
  usage(): { cpuS: number; rssMb: number };
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startCenterServer(opts: {
  sites: number;
  /** The notify: section of server.yaml (YAML text, indented two spaces), or none. */
  notify?: string;
  env?: Record<string, string>;
  /** Viewer accounts made with `slopeguard user add` before the server starts: [name, password]. */
  users?: ReadonlyArray<readonly [string, string]>;
}): Promise<CenterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-center-'));
  const dataDir = join(dir, 'data');
  mkdirSync(join(dir, 'sites'));
  mkdirSync(dataDir, { mode: 0o700 });
  for (let i = 0; i < opts.sites; i++)
    writeFileSync(join(dir, 'sites', `${siteId(i)}.yaml`), siteFile(siteId(i)));
  const mqttPort = await freePort();
  const httpPort = await freePort();
  writeFileSync(
    join(dir, 'server.yaml'),
    `data_dir: ${dataDir}
log_level: warn
mqtt:
  tcp: { host: 127.0.0.1, port: ${mqttPort} }
  limits: { connects_per_minute: 100000, connect_burst: 100000 }
http: { host: 127.0.0.1, port: ${httpPort} }
sites_dir: ${join(dir, 'sites')}
${opts.notify ? `notify:\n${opts.notify}` : ''}`,
  );
  const registry = openDeviceRegistry(join(dataDir, 'registry.sqlite'));
  const passwords = Array.from({ length: opts.sites }, (_, i) => registry.addDevice(siteId(i), 'gw-1'));
  const observerPassword = registry.addAccount('bench-observer', { role: 'observer' });
  registry.close();
  for (const [name, password] of opts.users ?? []) {
    execFileSync(
      NODE,
      [
        CLI,
        'user',
        'add',
        '--name',
        name,
        '--role',
        'viewer',
        '--password-stdin',
        '--db',
        join(dataDir, 'control-center.sqlite'),
      ],
      { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] },
    );
  }

  let stderr = '';
  const child: ChildProcess = spawn(NODE, [CLI, 'server', '--config', join(dir, 'server.yaml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const exited = once(child, 'exit');
  const httpUrl = `http://127.0.0.1:${httpPort}/`;
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    const up = await fetch(`${httpUrl}healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const gateways: MqttClient[] = [];
  for (let i = 0; i < opts.sites; i += CONNECT_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_BATCH, opts.sites - i) }, (_, k) =>
        mqtt.connectAsync(mqttUrl, {
          clientId: `${siteId(i + k)}.gw-1`,
          username: `${siteId(i + k)}.gw-1`,
          password: passwords[i + k],
          reconnectPeriod: 1000,
        }),
      ),
    );
    gateways.push(...batch);
  }

  const observer = await mqtt.connectAsync(mqttUrl, {
    clientId: 'bench-observer',
    username: 'bench-observer',
    password: observerPassword,
  });

  const rain = new Map<number, number>();
  const seq = new Array<number>(opts.sites).fill(0);
  const lastTs = new Array<number>(opts.sites).fill(0);
  const message = (i: number): string => {
    const ts = Math.max(Date.now(), (lastTs[i] ?? 0) + 1);
    lastTs[i] = ts;
    const mm = rain.get(i) ?? 0;
    rain.delete(i);
    const readings: Reading[] = [{ sensor: 'rain-1', kind: 'rain', ts, values: { mm } }];
    for (let k = 1; k < SENSORS_PER_SITE; k++) {
      // A still slope: a few thousandths of a degree of noise around each sensor's own offset.
      const n = Math.sin(ts / 997 + i * 31 + k) * 0.002;
      readings.push({ sensor: `tilt-${k}`, kind: 'tilt', ts, values: { x: k * 0.1 + n, y: -k * 0.05 - n } });
    }
    seq[i] = (seq[i] ?? 0) + 1;
    return JSON.stringify({ seq: seq[i], readings });
  };
  const cpuTicks = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  };
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

  return {
    dir,
    pid: child.pid ?? 0,
    httpUrl,
    mqttUrl,
    gateways,
    observer,
    rainOnce: (i, mm) => rain.set(i, mm),
    startLoad(onPublish) {
      let published = 0;
      let failed = 0;
      const slot = 10; // ms
      const perSlot = Math.ceil(opts.sites / (1000 / slot));
      let next = 0;
      const timer = setInterval(() => {
        for (let n = 0; n < perSlot; n++) {
          const i = next;
          next = (next + 1) % opts.sites;
          const payload = message(i);
          onPublish?.(i, Date.now());
          published++;
          gateways[i]?.publish(gatewayTopic(siteId(i), 'gw-1', 'telemetry'), payload, { qos: 1 }, (err) => {
            if (err) failed++;
          });
        }
      }, slot);
      return () => {
        clearInterval(timer);
        return { published, failed };
      };
    },
    usage() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return { cpuS: cpuTicks() / hz, rssMb: rssKb / 1024 };
    },
    async metric(name) {
      const text = await (await fetch(`${httpUrl}metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n'))
        if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
      return sum;
    },
    async stop() {
      await Promise.all([...gateways, observer].map((g) => g.endAsync(true).catch(() => undefined)));
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The 1-minute load average and the core count, for the report: other work shares this machine. */
export function machineLoad(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${navigator.hardwareConcurrency} cores`;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
