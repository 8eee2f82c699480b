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
 * stale before the reading, and the answer to "is there rain or movement elsewhere?" where the filter
 * used it. A replay computes both again from its own site state and, at the first difference, throws
 * TapeDiverged: the run must then be made again without the tape (and may record a new one). So a
 * replay either gives exactly the full run's level changes or none.
 *
 * A replaying engine does not rebuild the movement rule state: its level changes carry no movement
 * reasons and `forecasts()` is empty. It is meant for scoring sweeps, nothing else.
 */
export class TapeDiverged extends Error {}

const VERDICTS: readonly CleanVerdict[] = ['accepted', 'pending', 'spike', 'step', 'regime', 'movement'];
const CODE = new Map<CleanVerdict, number>(VERDICTS.map((v, i) => [v, i]));

/**
 * One sensor's steps, one code each: verdict (bits 0-2), level (3-5), stale before the reading (6),
 * the filter asked `moving()` (7), and the answer it USED for its verdict (8-9: 0 none, 1 no, 2 yes).
 * The filter asks when an outlier starts a held run, but the answer decides only whether a run that
 * turns out to be a step is a sensor step or movement (and, for a sparse sensor, at once); a replay
 * asks at the same steps and diverges only where an answer that was used differs.
 */
export class TapeTrack {
  #codes = new Uint16Array(1024);
  #n = 0;
  #pos = 0;
  /** While replaying: this run's answer at the latest step where the filter asked. */
  #pm = false;
  record(verdict: CleanVerdict, level: Level, wasStale: boolean, asked: boolean, used: 0 | 1 | 2): void {
    if (this.#n === this.#codes.length) {
      const bigger = new Uint16Array(this.#codes.length * 2);
      bigger.set(this.#codes);
      this.#codes = bigger;
    }
    this.#codes[this.#n++] =
      (CODE.get(verdict) ?? 0) | (level << 3) | (wasStale ? 64 : 0) | (asked ? 128 : 0) | (used << 8);
  }
  /** The next recorded step, checked against this run's inputs (`moving` is asked only if it was). */
  next(wasStale: boolean, moving: () => boolean): number {
    if (this.#pos >= this.#n) throw new TapeDiverged('more movement readings than recorded');
    const code = this.#codes[this.#pos++] as number;
    if ((code & 64) !== (wasStale ? 64 : 0)) throw new TapeDiverged('staleness differs');
    if (code & 128) this.#pm = moving();
    const used = code >> 8;
    if (used !== 0 && (this.#pm ? 2 : 1) !== used) throw new TapeDiverged('corroboration differs');
    return code;
  }
  rewind(): void {
    this.#pos = 0;
    this.#pm = false;
  }
  get length(): number {
    return this.#n;
  }
}

export const tapeVerdict = (code: number): CleanVerdict => VERDICTS[code & 7] as CleanVerdict;
export const tapeLevel = (code: number): Level => ((code >> 3) & 7) as Level;

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
