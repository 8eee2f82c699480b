import { parentPort, workerData } from 'node:worker_threads';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import type { KnownEvent } from './events.ts';
import { type Packed, SweepRunner } from './pack.ts';
import type { ScoreOptions } from './score.ts';
import { withSetting } from './sweep.ts';

/**
 * One sweep worker: replays the shared packed readings for each combination it is sent and posts
 * the score back. Combinations come one at a time, so a fast worker takes more of them.
 */
interface Init {
  base: SiteConfig;
  paths: string[];
  packed: Packed;
  known: KnownEvent[];
  options: ScoreOptions;
}

const init = workerData as Init;
const runner = new SweepRunner(init.packed, init.known, init.options, init.paths);
parentPort?.on('message', (msg: { id: number; values: number[] }) => {
  try {
    let config = init.base;
    init.paths.forEach((path, k) => {
      config = withSetting(config, path, msg.values[k] as number);
    });
    const summary = runner.run(config);
    parentPort?.postMessage({ id: msg.id, summary, recorded: runner.recorded, replayed: runner.replayed });
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
