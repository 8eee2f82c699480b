/**
 * Sign-in throttling per address and per account. Failures back off exponentially (1 s, doubling,
 * capped) once past a free allowance: 5 per address, 20 per account (higher, so that one attacker
 * cannot lock the owner out as quickly, while a guessing campaign from many addresses still slows
 * down). Attempts still being checked count too: a burst of parallel guesses cannot all pass the
 * check before the first failure is recorded.
 */
export interface SignInLimiterOptions {
  addressFreeFailures?: number;
  accountFreeFailures?: number;
  maxDelayMs?: number;
  maxInFlight?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  until: number;
  inFlight: number;
}

export class SignInLimiter {
  readonly #o: Required<SignInLimiterOptions>;
  readonly #entries = new Map<string, Entry>();

  constructor(options: SignInLimiterOptions = {}) {
    this.#o = {
      addressFreeFailures: options.addressFreeFailures ?? 5,
      accountFreeFailures: options.accountFreeFailures ?? 20,
      maxDelayMs: options.maxDelayMs ?? 15 * 60_000,
      maxInFlight: options.maxInFlight ?? 2,
      now: options.now ?? Date.now,
    };
  }

  #entry(key: string): Entry {
    let e = this.#entries.get(key);
    if (!e) {
      if (this.#entries.size > 100_000) {
        const t = this.#o.now();
        for (const [k, x] of this.#entries) if (x.inFlight === 0 && x.until < t) this.#entries.delete(k);
      }
      e = { failures: 0, until: 0, inFlight: 0 };
      this.#entries.set(key, e);
    }
    return e;
  }

  #keys(account: string, address: string): Array<[string, number]> {
    return [
      [`i:${address}`, this.#o.addressFreeFailures],
      [`a:${account.slice(0, 64)}`, this.#o.accountFreeFailures],
    ];
  }

  /** Milliseconds to wait before trying again; 0 means go, and the attempt is in flight until `end`. */
  begin(account: string, address: string): number {
    const t = this.#o.now();
    let wait = 0;
    for (const [k] of this.#keys(account, address)) {
      const e = this.#entry(k);
      if (e.until > t) wait = Math.max(wait, e.until - t);
      if (e.inFlight >= this.#o.maxInFlight) wait = Math.max(wait, 1000);
    }
    if (wait > 0) return wait;
    for (const [k] of this.#keys(account, address)) this.#entry(k).inFlight++;
    return 0;
  }

  end(account: string, address: string, ok: boolean): void {
    const t = this.#o.now();
    for (const [k, free] of this.#keys(account, address)) {
      const e = this.#entry(k);
      e.inFlight = Math.max(0, e.inFlight - 1);
      if (ok) {
        e.failures = 0;
        e.until = 0;
        continue;
      }
      e.failures++;
      const over = e.failures - free;
      if (over >= 0) e.until = t + Math.min(this.#o.maxDelayMs, 1000 * 2 ** over);
    }
  }
}
