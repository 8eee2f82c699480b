import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openDeviceRegistry } from '@slopeguard/broker';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { type ReceivedHook, waitFor, webhookReceiver } from '../../control-center/test/notify/helpers.ts';
import { type SmtpServer, startSmtpServer } from '../../control-center/test/notify/smtp-server.ts';
import { type DemoGateway, type DemoGatewayOptions, startDemoGateway } from '../demo/gateway.ts';

/**
 * `slopeguard server` as the tests that kill it run it: a child process of the CLI from a server.yaml
 * on free loopback ports, in a temporary directory with its sites and data, its stderr kept (and
 * copied to the file named by SG_KILL_LOG, when set, to read a failed run).
 */
const NODE = resolve(import.meta.dirname, '../../node_modules/.bin/node');
const CLI = resolve(import.meta.dirname, '../../bin/slopeguard.mjs');

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

/** A temporary directory with `sites/<site>.yaml` and an empty `data/` (0700, as the server wants). */
export function serverDir(prefix: string, site: string, siteFile: string) {
  const dir = mkdtempSync(join(tmpdir(), `sg-${prefix}-`));
  const dataDir = join(dir, 'data');
  const sitesDir = join(dir, 'sites');
  mkdirSync(sitesDir);
  writeFileSync(join(sitesDir, `${site}.yaml`), siteFile);
  mkdirSync(dataDir, { mode: 0o700 });
  return { dir, dataDir, sitesDir, config: join(dir, 'server.yaml') };
}

export interface ServerYaml {
  dataDir: string;
  sitesDir: string;
  mqttPort: number;
  httpPort: number;
  /** The broker's session persistence; the server's default when absent. */
  persistence?: 'sqlite';
  /** The webhook channel `sms` (URL and the env variable holding its secret). */
  webhook: { url: string; secretEnv: string };
  /** The e-mail channel `mail` (the SMTP server and the From header). */
  smtp: { port: number; from: string };
}

/**
 * The head of a server.yaml: data, listeners, sites and the `notify:` section with its two channels
 * (`sms` a webhook, `mail` over SMTP) and a fast retry. Each test appends what it is about (the
 * escalation chains, `warn:`) below it; `notify:` children go indented by two spaces.
 */
export function serverYamlHead(o: ServerYaml): string {
  return `data_dir: ${o.dataDir}
log_level: info
mqtt:
  tcp: { host: 127.0.0.1, port: ${o.mqttPort} }
${o.persistence ? `  persistence: ${o.persistence}\n` : ''}http: { host: 127.0.0.1, port: ${o.httpPort} }
sites_dir: ${o.sitesDir}
notify:
  channels:
    sms: { kind: webhook, url: "${o.webhook.url}", secret_env: ${o.webhook.secretEnv} }
    mail: { kind: email, host: 127.0.0.1, port: ${o.smtp.port}, require_tls: false, from: "${o.smtp.from}" }
  retry: { max_attempts: 10, base_seconds: 1, cap_seconds: 2 }
`;
}

/**
 * The site's gateway `gw-1` and one observer account, provisioned before the server runs (as
 * `slopeguard device` does); returns their passwords.
 */
export function provisionAccounts(dataDir: string, site: string, observer: string) {
  const registry = openDeviceRegistry(join(dataDir, 'registry.sqlite'));
  try {
    return {
      gatewayPassword: registry.addDevice(site, 'gw-1'),
      observerPassword: registry.addAccount(observer, { role: 'observer' }),
    };
  } finally {
    registry.close();
  }
}

export interface OutboxRow {
  delivery_id: string;
  channel: string;
  level: number;
  state: string;
}

/** The notification outbox as the server left it (read-only, beside the running server). */
export function readOutbox(dataDir: string): OutboxRow[] {
  const db = new DatabaseSync(join(dataDir, 'control-center.sqlite'), { readOnly: true });
  try {
    return db
      .prepare('SELECT delivery_id, channel, level, state FROM notify_outbox ORDER BY seq')
      .all() as unknown as OutboxRow[];
  } finally {
    db.close();
  }
}

/** The delivery ids the outbox records as sent. */
export function sentDeliveries(rows: readonly OutboxRow[]): Set<string> {
  return new Set(rows.filter((r) => r.state === 'sent').map((r) => r.delivery_id));
}

/** One `slopeguard server` process at a time, started again after each kill. */
export class ServerChild {
  readonly #config: string;
  readonly #env: Record<string, string>;
  #child: ChildProcess | undefined;
  #exited: Promise<unknown> = Promise.resolve();
  /** The current process's stderr (its log), from its start. */
  stderr = '';

  constructor(config: string, env: Record<string, string>) {
    this.#config = config;
    this.#env = env;
  }

  /** Neither exited nor killed (a signal sent is not an exit yet: see `signal`). */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The signal the current process was killed with, once it has exited. */
  get signal(): NodeJS.Signals | null {
    return this.#child?.signalCode ?? null;
  }

  /** Settles when the current process has exited. */
  get exited(): Promise<unknown> {
    return this.#exited;
  }

  /**
   * Spawns the server and waits for its "started" line (logged once the control center has
   * subscribed: a reading published from then on reaches it). Minutes, not seconds, on a machine
   * shared by many test runs.
   */
  async start(timeoutMs = 180_000): Promise<void> {
    this.stderr = '';
    const c = spawn(NODE, [CLI, 'server', '--config', this.#config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...this.#env },
    });
    c.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (process.env.SG_KILL_LOG) writeFileSync(process.env.SG_KILL_LOG, d, { flag: 'a' });
    });
    this.#exited = once(c, 'exit');
    this.#child = c;
    await waitFor(
      'the server to start',
      () => this.stderr.includes('slopeguard server started') || c.exitCode !== null,
      timeoutMs,
    );
    if (c.exitCode !== null) throw new Error(`server exited: ${this.stderr}`);
  }

  /** SIGKILL at once, without waiting (from inside a receiver that holds a request). */
  killNow(): void {
    if (this.running) this.#child?.kill('SIGKILL');
  }

  /** SIGKILL, then waits for the exit; returns the signal the process died of. */
  async kill(): Promise<NodeJS.Signals | null> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
    return this.signal;
  }

  /** A clean stop (SIGTERM) of a process still running; nothing when it is gone. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.#child?.kill('SIGTERM');
    await this.#exited;
  }
}

/**
 * Where a killed server's notices go: an SMTP server (aiosmtpd) and an SMS gateway's webhook
 * receiver (de-duplicating on the delivery id). After `killOn(match)`, the receiver kills the server
 * with SIGKILL on the first request that matches, accepted and not yet answered: a notice in flight,
 * which the server has not recorded as sent.
 */
export async function startNoticeReceivers(
  dir: string,
  secret: string,
  server: () => ServerChild | undefined,
) {
  let killWhen: ((hook: ReceivedHook) => boolean) | undefined;
  const smtp: SmtpServer = await startSmtpServer(dir);
  const rx = await webhookReceiver({
    secret,
    respond: (_n, hook) => {
      const s = server();
      if (killWhen?.(hook) && s?.running) {
        killWhen = undefined;
        s.killNow();
      }
      return { status: 200 };
    },
  });
  return {
    smtp,
    rx,
    killOn(match: (hook: ReceivedHook) => boolean): void {
      killWhen = match;
    },
    async close(): Promise<void> {
      await rx.close();
      await smtp.stop();
    },
  };
}

export type NoticeReceivers = Awaited<ReturnType<typeof startNoticeReceivers>>;

/**
 * The site's gateway `gw-1` as a real gateway agent (durable queue under `<dir>/gateway`, uplink to
 * the server's broker) whose sensors are the test's simulation; it samples only when told
 * (`publishOnce`), so the test paces the readings.
 */
export function startSiteGateway(o: {
  dir: string;
  mqttUrl: string;
  site: string;
  password: string;
  source: NonNullable<DemoGatewayOptions['source']>;
}): Promise<DemoGateway> {
  return startDemoGateway({
    dataDir: join(o.dir, 'gateway'),
    mqttUrl: o.mqttUrl,
    site: o.site,
    gateway: 'gw-1',
    username: `${o.site}.gw-1`,
    password: o.password,
    intervalMs: 0,
    logger: pino({ level: 'silent' }),
    source: o.source,
  });
}

/** An MQTT client of an observer account (a siren, a signboard) that reconnects at once after a kill. */
export function connectObserver(url: string, clientId: string, username: string, password: string) {
  return mqtt.connectAsync(url, { clientId, username, password, reconnectPeriod: 200 });
}

/** A kill test's set-up: what differs from one test to the next. */
export interface KillBedOptions {
  /** Names the temporary directory. */
  prefix: string;
  site: string;
  siteFile: string;
  /** The webhook channel's secret, and the environment variable the server reads it from. */
  secret: string;
  secretEnv: string;
  /** The From header of the server's mail. */
  from: string;
  /** The observer account provisioned beside the gateway (a siren, a signboard). */
  observer: string;
  persistence?: 'sqlite';
  /** server.yaml below its head (`serverYamlHead`): escalation chains, `warn:`. */
  tail: (dataDir: string) => string;
}

/**
 * Everything a kill test needs before its server first starts: the directory with the site file,
 * the notice receivers (wired to kill this bed's server), free ports, server.yaml, the gateway and
 * observer accounts, and the server process, not yet started. `close` undoes it all in reverse
 * order, with the test's gateway and observer first.
 */
export async function startKillBed(o: KillBedOptions) {
  const d = serverDir(o.prefix, o.site, o.siteFile);
  let server: ServerChild | undefined;
  const receivers = await startNoticeReceivers(d.dir, o.secret, () => server);
  let mqttPort: number;
  let httpPort: number;
  let accounts: ReturnType<typeof provisionAccounts>;
  try {
    mqttPort = await freePort();
    httpPort = await freePort();
    const head = serverYamlHead({
      dataDir: d.dataDir,
      sitesDir: d.sitesDir,
      mqttPort,
      httpPort,
      ...(o.persistence ? { persistence: o.persistence } : {}),
      webhook: { url: receivers.rx.url, secretEnv: o.secretEnv },
      smtp: { port: receivers.smtp.port, from: o.from },
    });
    writeFileSync(d.config, `${head}${o.tail(d.dataDir)}`);
    accounts = provisionAccounts(d.dataDir, o.site, o.observer);
  } catch (err) {
    // Nothing is returned to close: the receivers (aiosmtpd is a child process) are stopped here.
    await stopAll({ receivers, dir: d.dir });
    throw err;
  }
  server = new ServerChild(d.config, { [o.secretEnv]: o.secret });
  const started = server;
  return {
    ...d,
    ...accounts,
    server: started,
    receivers,
    rx: receivers.rx,
    smtp: receivers.smtp,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}/`,
    /** The notification outbox as the server left it. */
    outbox: () => readOutbox(d.dataDir),
    close(clients: { gw?: DemoGateway | undefined; observer?: MqttClient | undefined }): Promise<void> {
      return stopAll({ ...clients, server: started, receivers, dir: d.dir });
    },
  };
}

export type KillBed = Awaited<ReturnType<typeof startKillBed>>;

/**
 * Undoes a kill test in reverse order of start, whatever state a failure left: the gateway (its
 * stop gives up on a broker that is gone after a few seconds), the observer, the server, the
 * receivers, the directory.
 */
async function stopAll(o: {
  gw?: DemoGateway | undefined;
  observer?: MqttClient | undefined;
  server?: ServerChild | undefined;
  receivers?: NoticeReceivers | undefined;
  dir?: string | undefined;
}): Promise<void> {
  await o.gw?.stop().catch(() => undefined);
  await o.observer?.endAsync(true).catch(() => undefined);
  await o.server?.stop();
  await o.receivers?.close();
  if (o.dir) rmSync(o.dir, { recursive: true, force: true });
}
