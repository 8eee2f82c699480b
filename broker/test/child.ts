import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Node 24 from the `node` devDependency (the system node is older). */
export const NODE = resolve(here, '../../node_modules/.bin/node');

export interface ChildBroker {
  port: number;
  proc: ChildProcess;
  /** SIGKILL: no shutdown code runs. Resolves when the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM: clean shutdown. */
  stop(): Promise<void>;
}

export function startChildBroker(config: {
  dir: string;
  port?: number;
  spill?: boolean;
}): Promise<ChildBroker> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(NODE, [join(here, 'fixtures/broker-child.ts'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    // A bound, not a delay: loading the broker (type stripping, SQLite) took over 20 s with both
    // cores busy (broker/test/soak/persistence-loop.sh hit it).
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child broker did not start: ${err}`));
    }, 60_000);
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        const { port } = JSON.parse(line) as { port: number };
        resolvePromise({
          port,
          proc,
          async kill9() {
            proc.kill('SIGKILL');
            await exited;
          },
          async stop() {
            proc.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child broker exited with ${code}: ${err}`));
    });
  });
}
