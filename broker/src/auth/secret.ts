import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Slow password hashing with node:crypto scrypt. Stored form: `scrypt$N$r$p$salt$hash` (base64url),
 * so that the cost can be raised later without invalidating old hashes. N = 2^14, r = 8 costs about
 * 30 ms and 16 MiB per check on the reference machine.
 */
const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

export function generateSecret(): string {
  // 24 random bytes = 192 bits, 32 URL-safe characters: easy to paste into a gateway's config.
  return randomBytes(24).toString('base64url');
}

export function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(secret, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', N, R, P, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !n || !r || !p || !salt || !hash) return undefined;
  return {
    n: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64url'),
    hash: Buffer.from(hash, 'base64url'),
  };
}

/** A hash of a random secret, checked when the account is unknown so that timing does not tell. */
const DUMMY = hashSecret(generateSecret());

/**
 * Checks a secret against a stored hash off the main thread (libuv pool) with a constant-time
 * comparison. `stored` undefined still runs one scrypt so unknown and known accounts take as long.
 */
export function verifySecret(secret: Buffer | string, stored: string | undefined): Promise<boolean> {
  const parsed = parse(stored ?? DUMMY) ?? parse(DUMMY);
  if (!parsed) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(
      secret,
      parsed.salt,
      parsed.hash.length,
      { N: parsed.n, r: parsed.r, p: parsed.p, maxmem: 64 * 1024 * 1024 },
      (err, derived) => {
        if (err) return resolve(false);
        resolve(stored !== undefined && timingSafeEqual(derived, parsed.hash));
      },
    );
  });
}
