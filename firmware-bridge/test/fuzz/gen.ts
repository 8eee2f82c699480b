/**
 * Seeded fuzz input for the decoders: random byte strings and mutations of good frames. A seeded
 * generator (not fast-check) because 100,000 cases per codec must run in about a second; a failure
 * prints the seed and case number, which reproduce it exactly.
 */
export const FUZZ_CASES = 100_000;

export class Gen {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32 */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number, alphabet?: Uint8Array): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++)
      out[i] = alphabet ? (alphabet[this.int(alphabet.length)] as number) : this.int(256);
    return out;
  }

  /** One to four mutations: bit flip, byte change, insert, delete, truncate, duplicate, splice. */
  mutate(frame: Uint8Array, others: readonly Uint8Array[], alphabet?: Uint8Array): Uint8Array {
    let f: Uint8Array = Uint8Array.from(frame);
    const n = 1 + this.int(4);
    for (let k = 0; k < n; k++) {
      const at = f.length === 0 ? 0 : this.int(f.length);
      switch (this.int(7)) {
        case 0:
          if (f.length > 0) f[at] = (f[at] as number) ^ (1 << this.int(8));
          break;
        case 1:
          if (f.length > 0)
            f[at] = alphabet ? (alphabet[this.int(alphabet.length)] as number) : this.int(256);
          break;
        case 2:
          f = concat(f.subarray(0, at), this.bytes(1 + this.int(4), alphabet), f.subarray(at));
          break;
        case 3:
          f = concat(f.subarray(0, at), f.subarray(Math.min(f.length, at + 1 + this.int(4))));
          break;
        case 4:
          f = f.subarray(0, at);
          break;
        case 5:
          f = concat(f, f.subarray(at));
          break;
        case 6: {
          const o = this.pick(others);
          f = concat(f.subarray(0, at), o.subarray(this.int(o.length + 1)));
          break;
        }
      }
    }
    return f;
  }

  /** Either random bytes (length 0..maxLen) or a mutated good frame: half and half. */
  fuzzFrame(good: readonly Uint8Array[], maxLen: number, alphabet?: Uint8Array): Uint8Array {
    if (this.next() < 0.5) return this.bytes(this.int(maxLen + 1), alphabet);
    return this.mutate(this.pick(good), good, alphabet);
  }

  /** Splits bytes into 1..4 chunks, as a serial read would deliver them. */
  chunks(b: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < b.length) {
      const n = this.next() < 0.5 ? b.length - i : 1 + this.int(b.length - i);
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Printable ASCII plus CR, LF, NUL and a few high bytes: mutations that stay "almost text". */
export const TEXTISH = Uint8Array.from([
  ...Array.from({ length: 95 }, (_, i) => 32 + i),
  0x0d,
  0x0a,
  0x00,
  0xff,
  0x80,
]);
