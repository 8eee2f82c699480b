/**
 * How Slopeguard counts the characters of a resident message (docs/warnings.md, "Counting
 * characters"). Korean cell broadcast (재난문자) limits are stated in characters (90, and 157 since
 * October 2026), and the broadcast carries Korean text in the UCS-2 alphabet, 2 octets per character
 * (3GPP TS 23.038 5, data coding scheme "UCS2"; TS 23.041 9.4.1.2: 82 octets per page). So the
 * unit that fills the message is a UTF-16 code unit of the NFC form:
 * - a precomposed Hangul syllable (U+AC00..U+D7A3) is one unit, whereas the same syllable decomposed
 *   into conjoining jamo (NFD, as some macOS tools write names) is two or three: NFC first;
 * - a character outside the Basic Multilingual Plane (an emoji) needs a surrogate pair, two units;
 *   counting code points would undercount it, and grapheme clusters would undercount both cases.
 * Counting units of the NFC text therefore never claims a text fits when it does not.
 */
export const SHORT_LIMIT = 90;
export const LONG_LIMIT = 157;

export function messageLength(text: string): number {
  return text.normalize('NFC').length;
}

/**
 * Cuts a name to at most `max` units with a trailing ellipsis, never inside a surrogate pair.
 * Returns '' when not even one character and the ellipsis fit.
 */
export function truncateUnits(text: string, max: number): string {
  const s = text.normalize('NFC');
  if (s.length <= max) return s;
  if (max < 2) return '';
  let end = max - 1;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // a high surrogate without its low half
  return `${s.slice(0, end).trimEnd()}…`;
}
