/**
 * Requests per remote address for the public subscription routes: a token bucket per address
 * (refill `perMinute`, at most `burst`), dropped once full again so memory stays bounded, and at most
 * `maxAddresses` tracked (beyond that, new addresses share one bucket: a flood from many addresses
 * is throttled as one instead of growing the map).
 */
export class AddressLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #max: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: { perMinute: number; burst: number; now?: () => number; maxAddresses?: number }) {
    this.#perMs = opts.perMinute / 60_000;
    this.#burst = Math.max(1, opts.burst);
    this.#now = opts.now ?? Date.now;
    this.#max = opts.maxAddresses ?? 50_000;
  }

  /** Takes one request's token; false when the address is over its rate. */
  take(address: string): boolean {
    const now = this.#now();
    let key = address;
    if (!this.#buckets.has(key) && this.#buckets.size >= this.#max) {
      this.#sweep(now);
      if (this.#buckets.size >= this.#max) key = '*overflow*';
    }
    const b = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  #sweep(now: number): void {
    for (const [k, b] of this.#buckets)
      if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(k);
  }
}
