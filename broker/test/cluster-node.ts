import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE } from './child.ts';
import { until } from './helpers.ts';
import { freePort } from './influxd.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DATABASE = 'slopeguard_cluster';

export interface ClusterNode {
  name: string;
  port: number;
  proc: ChildProcess;
  log: () => string;
}

/**
 * One cluster node as an operator runs it: `slopeguard server` with a `cluster:` section (no
 * control center), its InfluxDB store in DATABASE, on a free loopback port. Resolves once it logged
 * that it started; stderr (its JSON log) is kept for error messages.
 */
export async function startClusterNode(
  dir: string,
  name: string,
  redis: string,
  influx: string,
): Promise<ClusterNode> {
  const port = await freePort();
  const data = join(dir, name);
  mkdirSync(data, { recursive: true });
  const config = join(data, 'server.yaml');
  writeFileSync(
    config,
    `data_dir: ${data}
log_level: info
mqtt:
  tcp: { host: 127.0.0.1, port: ${port} }
store:
  type: influxdb1
  url: ${influx}
  database: ${DATABASE}
cluster:
  node: ${name}
  redis: ${redis}
  revocation_poll_ms: 100
`,
  );
  const proc = spawn(NODE, [join(ROOT, 'bin/slopeguard.mjs'), 'server', '--config', config], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  // Bounded: loading the CLI with both cores busy takes seconds.
  await until(() => {
    if (proc.exitCode !== null) throw new Error(`node ${name} exited: ${log}`);
    return log.includes('slopeguard server started');
  }, 90_000);
  return { name, port, proc, log: () => log };
}
