import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A pair of connected pseudo-terminals made by socat (Debian package `socat`): whatever is written
 * to one path is read from the other, through the kernel's tty layer, as with a null-modem cable.
 * Drivers open one end with the real serialport binding, a virtual device the other.
 */
export interface PtyPair {
  /** Driver end (a symlink to /dev/pts/N). */
  readonly a: string;
  /** Device end. */
  readonly b: string;
  readonly dir: string;
  /** Kills socat: both ends vanish, like an unplugged USB adapter. */
  unplug(): Promise<void>;
  /** Starts socat again on the same link paths (new pts numbers behind them). */
  replug(): Promise<void>;
  /** Kills socat and removes the temp dir (when this helper made it). */
  stop(): Promise<void>;
}

export interface PtyPairOptions {
  /** Directory for the links; a new temp dir (removed on stop) by default. */
  dir?: string;
  names?: readonly [string, string];
  /** Time to wait for socat to create the links. */
  timeoutMs?: number;
  socatPath?: string;
}

export class SocatError extends Error {
  readonly code = 'SG_SIM_SOCAT';
}

export async function startPtyPair(o: PtyPairOptions = {}): Promise<PtyPair> {
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'sg-pty-')));
  const [na, nb] = o.names ?? ['a', 'b'];
  const a = join(dir, na);
  const b = join(dir, nb);
  const timeoutMs = o.timeoutMs ?? 5000;
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const p = spawn(
      o.socatPath ?? 'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = p;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(
        () => fail(new SocatError(`socat did not start in ${timeoutMs} ms: ${log.slice(-500)}`)),
        timeoutMs,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        p.kill('SIGKILL');
        reject(err);
      };
      p.once('error', (err) => fail(new SocatError(`cannot run socat: ${err.message}`)));
      p.once('exit', (code) => fail(new SocatError(`socat exited with ${code}: ${log.slice(-500)}`)));
      p.stderr?.on('data', (d: Buffer) => {
        if (log.length < 4000) log += d.toString();
        // `-d -d` prints this once both ptys exist and the links are made.
        if (log.includes('starting data transfer loop')) {
          clearTimeout(timer);
          p.removeAllListeners('exit');
          p.stderr?.removeAllListeners('data');
          p.stderr?.resume();
          resolve();
        }
      });
    });
    await Promise.all([stat(a), stat(b)]);
  }

  async function kill(): Promise<void> {
    const p = child;
    child = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }

  try {
    await launch();
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    a,
    b,
    dir,
    unplug: kill,
    replug: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
