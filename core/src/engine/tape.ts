import type { Level } from '../levels.ts';
import type { CleanVerdict } from './clean.ts';

/**
 * A movement tape: what each movement sensor's outlier filter and rate rules concluded, reading by
 * reading, so that runs over the same readings which differ only in settings those never read (the
 * rain rules, hold-down, corroboration: a threshold sweep) replay it instead of recomputing it. The
 * filter and the rate tracks are about 80 % of the engine's work on a typical site.
 *
 * One run records (it is a normal run, and its level changes are exact); later runs replay. Each
 * recorded step keeps the inputs the filter took from the rest of the site: whether the sensor was
 * stale before the reading, and the answer to "is there rain or movement elsewhere?" when the filter
 * asked it. A replay computes both again from its own site state and, at the first difference, throws
 * TapeDiverged: the run must then be made again without the tape (and may record a new one). So a
 * replay either gives exactly the full run's level changes or none.
 *
 * A replaying engine does not rebuild the movement rule state: its level changes carry no movement
 * reasons and `forecasts()` is empty. It is meant for scoring sweeps, nothing else.
 */
export class TapeDiverged extends Error {}

const VERDICTS: readonly CleanVerdict[] = ['accepted', 'pending', 'spike', 'step', 'regime', 'movement'];
const CODE = new Map<CleanVerdict, number>(VERDICTS.map((v, i) => [v, i]));

/** Answer to the filter's question: 0 not asked, 1 no, 2 yes. */
export type Asked = 0 | 1 | 2;

/** One sensor's steps: per step, verdict (bits 0-2), asked (3-4), level (5-7), was stale (8). */
export class TapeTrack {
  #codes = new Uint16Array(1024);
  #n = 0;
  #pos = 0;
  record(verdict: CleanVerdict, level: Level, asked: Asked, wasStale: boolean): void {
    if (this.#n === this.#codes.length) {
      const bigger = new Uint16Array(this.#codes.length * 2);
      bigger.set(this.#codes);
      this.#codes = bigger;
    }
    this.#codes[this.#n++] = (CODE.get(verdict) ?? 0) | (asked << 3) | (level << 5) | (wasStale ? 256 : 0);
  }
  /** The next recorded step, checked against this run's inputs (`moving` is asked only if it was). */
  next(wasStale: boolean, moving: () => boolean): number {
    if (this.#pos >= this.#n) throw new TapeDiverged('more movement readings than recorded');
    const code = this.#codes[this.#pos++] as number;
    if ((code & 256) !== (wasStale ? 256 : 0)) throw new TapeDiverged('staleness differs');
    const asked = (code >> 3) & 3;
    if (asked !== 0 && (moving() ? 2 : 1) !== asked) throw new TapeDiverged('corroboration differs');
    return code;
  }
  rewind(): void {
    this.#pos = 0;
  }
  get length(): number {
    return this.#n;
  }
}

export const tapeVerdict = (code: number): CleanVerdict => VERDICTS[code & 7] as CleanVerdict;
export const tapeLevel = (code: number): Level => ((code >> 5) & 7) as Level;

export class MovementTape {
  readonly tracks: TapeTrack[];
  #recording = true;
  readonly sensors: number;
  constructor(sensors: number) {
    this.sensors = sensors;
    this.tracks = Array.from({ length: sensors }, () => new TapeTrack());
  }
  get recording(): boolean {
    return this.#recording;
  }
  /** Ends the recording (or a replay) and rewinds: the next engine given this tape replays it. */
  rewind(): void {
    this.#recording = false;
    for (const t of this.tracks) t.rewind();
  }
}

/** The settings a tape does not depend on: a sweep over only these may share one. */
export const TAPE_SAFE_SETTING = /^rules\.(rain|holdDown|corroboration)\./;
