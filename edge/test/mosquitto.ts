import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Mosquitto {
  port: number;
  url: string;
  /** Everything mosquitto logged (stderr), for assertions and failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's Mosquitto as a gateway's local broker for its field nodes: loopback only, no anonymous
 * clients, accounts in a mosquitto_passwd file and an ACL, in `dir`. Resolves once it listens.
 */
export async function startMosquitto(
  dir: string,
  accounts: Record<string, string>,
  acl: string,
): Promise<Mosquitto> {
  const passwd = join(dir, 'passwd');
  let first = true;
  for (const [user, pass] of Object.entries(accounts)) {
    execFileSync(MOSQUITTO_PASSWD, [...(first ? ['-c'] : []), '-b', passwd, user, pass]);
    first = false;
  }
  writeFileSync(join(dir, 'acl'), acl);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      // Run as whoever starts the test: no switch to the `mosquitto` user, who could not read `dir`.
      'user root',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${join(dir, 'acl')}`,
      'persistence false',
      'log_dest stderr',
      'log_type all',
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  proc.stderr?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes(' running')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`mosquitto exited (${code}):\n${text}`)));
    proc.once('error', reject);
  });
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => text,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** One message from a field node, sent by Debian's mosquitto_pub (QoS 1, waits for the PUBACK). */
export function nodePublish(
  broker: Mosquitto,
  user: string,
  password: string,
  topic: string,
  message: string,
): void {
  execFileSync(MOSQUITTO_PUB, [
    '-h',
    '127.0.0.1',
    '-p',
    String(broker.port),
    '-u',
    user,
    '-P',
    password,
    '-i',
    `${user}-pub`,
    '-q',
    '1',
    '-t',
    topic,
    '-m',
    message,
  ]);
}
