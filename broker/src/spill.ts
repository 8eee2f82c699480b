import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { BrokerError } from './errors.ts';
import { ensurePrivateDir } from './files.ts';
import type { StoredReading } from './store/types.ts';

/**
 * The recorder's overflow on local disk (docs/storage.md#spill-file): JSON lines, one batch of
 * readings per line, fsynced before the batch counts as durable. Draining renames the file to
 * `<path>.draining` first, so new spills go to a fresh file while the old one is replayed; a
 * restart finds either name and replays it. A torn last line (crash during append) belongs to a
 * batch that was never acknowledged and is skipped.
 */
export interface SpillFile {
  /** Appends and fsyncs. Throws SG_ERR_SPILL if the disk refuses. */
  append(readings: readonly StoredReading[]): void;
  /** Readings currently spilled (appended and not yet drained). */
  readonly count: number;
  /** Takes the spilled batches for replay; call `done()` after they are in the store. */
  take(): { batches: StoredReading[][]; done: () => void } | undefined;
}

export function openSpillFile(path: string, log: Logger): SpillFile {
  ensurePrivateDir(dirname(path));
  const draining = `${path}.draining`;
  let count = 0;

  function readBatches(file: string): StoredReading[][] {
    const batches: StoredReading[][] = [];
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      if (line === '') continue;
      try {
        batches.push(JSON.parse(line) as StoredReading[]);
      } catch {
        log.warn({ file, line: i + 1 }, 'skipping a torn spill line (its batch was never acknowledged)');
      }
    }
    return batches;
  }

  // Count what an earlier run left behind.
  for (const f of [draining, path]) {
    if (existsSync(f)) for (const b of readBatches(f)) count += b.length;
  }

  return {
    append(readings) {
      let fd: number | undefined;
      try {
        fd = openSync(path, 'a', 0o600);
        writeSync(fd, `${JSON.stringify(readings)}\n`);
        fsyncSync(fd);
      } catch (err) {
        throw new BrokerError('SG_ERR_SPILL', `spill file ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      count += readings.length;
    },
    get count() {
      return count;
    },
    take() {
      // A previous drain that did not finish comes first.
      if (!existsSync(draining)) {
        if (!existsSync(path)) return undefined;
        renameSync(path, draining);
      }
      const batches = readBatches(draining);
      const n = batches.reduce((s, b) => s + b.length, 0);
      return {
        batches,
        done() {
          unlinkSync(draining);
          count = Math.max(0, count - n);
        },
      };
    },
  };
}
