import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const INFLUXD = '/usr/bin/influxd';
export const HAS_INFLUXD = existsSync(INFLUXD);

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Influxd {
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

/**
 * A real InfluxDB 1.x (Debian package `influxdb`, /usr/bin/influxd) on a free loopback port with
 * its meta, data and WAL in `dir`. Reporting and the internal monitor are off.
 */
export async function startInfluxd(dir: string): Promise<Influxd> {
  const httpPort = await freePort();
  const rpcPort = await freePort();
  for (const d of ['meta', 'data', 'wal']) mkdirSync(join(dir, d), { recursive: true });
  const config = join(dir, 'influxdb.conf');
  writeFileSync(
    config,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false
[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false
  trace-logging-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
  write-tracing = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let proc: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    output = '';
    const p = spawn(INFLUXD, ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    p.stderr?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`influxd exited with ${p.exitCode}: ${output}`);
      const ok = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 204,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    p.kill('SIGKILL');
    throw new Error(`influxd did not answer /ping within 30 s: ${output}`);
  }

  async function stop(): Promise<void> {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return { url, start, stop };
}
