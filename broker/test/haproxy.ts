import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './influxd.ts';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Haproxy {
  port: number;
  /** Current sessions per backend server name (from the runtime API's `show stat`). */
  sessions(): Promise<Record<string, { sessions: number; status: string }>>;
  stop(): Promise<void>;
}

/**
 * Debian's HAProxy as the cluster's TCP load balancer (the same settings as
 * deploy/cluster/haproxy.cfg): round robin over the nodes, health checks every 200 ms, and a
 * connection to a dead node re-dispatched to a live one.
 */
export async function startHaproxy(dir: string, nodes: Record<string, number>): Promise<Haproxy> {
  if (!existsSync(HAPROXY)) throw new Error('haproxy missing: install the Debian package `haproxy`');
  const port = await freePort();
  const socket = join(dir, 'haproxy.sock');
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  maxconn 2000
  stats socket ${socket} mode 600 level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5m
  timeout server 5m
  retries 2
  option redispatch
frontend mqtt
  bind 127.0.0.1:${port}
  default_backend brokers
backend brokers
  balance roundrobin
${Object.entries(nodes)
  .map(([name, p]) => `  server ${name} 127.0.0.1:${p} check inter 200ms fall 2 rise 2`)
  .join('\n')}
`,
  );
  const proc: ChildProcess = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  proc.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });

  const command = (line: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect(socket);
      let out = '';
      s.on('connect', () => s.write(`${line}\n`));
      s.on('data', (d) => {
        out += d.toString();
      });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });

  async function sessions() {
    const csv = await command('show stat');
    const header = (csv.split('\n')[0] ?? '').replace(/^# /, '').split(',');
    const col = (name: string) => header.indexOf(name);
    const result: Record<string, { sessions: number; status: string }> = {};
    for (const line of csv.split('\n').slice(1)) {
      const f = line.split(',');
      if (f[col('pxname')] !== 'brokers' || !f[col('svname')] || f[col('svname')] === 'BACKEND') continue;
      result[f[col('svname')] as string] = {
        sessions: Number(f[col('scur')]),
        status: f[col('status')] ?? '',
      };
    }
    return result;
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited with ${proc.exitCode}: ${output}`);
    const ok = await sessions().then(
      (s) => Object.keys(s).length === Object.keys(nodes).length,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`haproxy did not start within 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    sessions,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
