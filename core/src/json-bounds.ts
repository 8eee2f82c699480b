/**
 * A bound on JSON before it is parsed. `JSON.parse` itself copes with deep nesting, but what comes
 * after does not: serialisers, `structuredClone`, socket.io's binary scan and many validators recurse,
 * and a 100,000-deep array makes them throw RangeError in a shared path. This scan walks the bytes
 * once (no allocation), tracks nesting outside strings, and stops at the first violation, so an
 * oversized or overdeep payload costs at most `maxBytes` steps and is never parsed.
 */
export interface JsonBounds {
  maxBytes: number;
  maxDepth: number;
}

export type BoundsVerdict = { ok: true } | { ok: false; reason: 'size' | 'depth'; message: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export function checkJsonBounds(bytes: Uint8Array, bounds: JsonBounds): BoundsVerdict {
  if (bytes.length > bounds.maxBytes) {
    return { ok: false, reason: 'size', message: `${bytes.length} bytes, over ${bounds.maxBytes}` };
  }
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > bounds.maxDepth) {
        return { ok: false, reason: 'depth', message: `nested deeper than ${bounds.maxDepth}` };
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return { ok: true };
}
