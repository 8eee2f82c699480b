import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import type { KnownEvent } from './events.ts';
import type { Packed } from './pack.ts';
import type { ScoreOptions, ScoreSummary } from './score.ts';
import { SweepError } from './sweep.ts';

/**
 * Runs every combination on `workers` worker threads (default: the machine's parallelism), each
 * worker pulling the next combination when it finishes one. Results come back in combination
 * order whatever the finishing order, so the output is the same on any machine.
 */
export async function runSweep(
  base: SiteConfig,
  paths: string[],
  combos: number[][],
  packed: Packed,
  known: readonly KnownEvent[],
  options: ScoreOptions,
  workers = availableParallelism(),
): Promise<ScoreSummary[]> {
  const results: (ScoreSummary | undefined)[] = new Array(combos.length);
  const count = Math.max(1, Math.min(workers, combos.length));
  let next = 0;
  let failure: Error | null = null;
  const pool = Array.from(
    { length: count },
    () =>
      new Worker(new URL('./sweep-worker.ts', import.meta.url), {
        workerData: { base, paths, packed, known, options },
      }),
  );
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (failure || next >= combos.length) return resolve();
              const id = next++;
              w.postMessage({ id, values: combos[id] });
            };
            w.on('message', (m: { id: number; summary?: ScoreSummary; error?: string }) => {
              if (m.error !== undefined) {
                failure = new SweepError(m.error);
                return reject(failure);
              }
              results[m.id] = m.summary;
              send();
            });
            w.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results.map((r, i) => {
    if (!r) throw new SweepError(`combination ${i} gave no result`);
    return r;
  });
}
