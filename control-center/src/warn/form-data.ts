/**
 * A small `multipart/form-data` body [RFC 7578] read into flat text fields, for the residents'
 * routes only: a mail client's one-click unsubscribe (RFC 8058 §3.2 says its POST SHOULD be
 * multipart/form-data) carries one field, `List-Unsubscribe=One-Click`. The caller bounds the body
 * (2 KiB); this takes at most MAX_PARTS text fields, refuses files, repeated names and anything
 * malformed, and never throws.
 */
export const MAX_PARTS = 8;

export type FormFields = { ok: true; fields: Record<string, string> } | { ok: false; error: string };

const fail = (error: string): FormFields => ({ ok: false, error });

/** The boundary parameter of a Content-Type [RFC 2046 §5.1.1: 1-70 characters]. */
function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

export function parseFormData(contentType: string, body: string): FormFields {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) return fail('multipart body without a boundary');
  const delimiter = `--${boundary}`;
  const first = body.indexOf(delimiter);
  if (first < 0) return fail('multipart body without its boundary');
  // Every delimiter but the first follows a CRLF; with one put before the first, all split alike.
  const pieces = `\r\n${body.slice(first)}`.split(`\r\n${delimiter}`);
  const last = pieces[pieces.length - 1] ?? '';
  if (pieces.length < 3 || !last.startsWith('--')) return fail('multipart body not closed');
  if (pieces.length - 2 > MAX_PARTS) return fail(`more than ${MAX_PARTS} fields`);
  const fields: Record<string, string> = Object.create(null);
  for (const piece of pieces.slice(1, -1)) {
    // The delimiter line may end in transport padding (spaces, tabs) before its CRLF.
    const start = /^[ \t]*\r\n/.exec(piece);
    if (!start) return fail('malformed delimiter line');
    const part = piece.slice(start[0].length);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) return fail('part without a blank line after its headers');
    let name: string | undefined;
    for (const line of part.slice(0, split).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) return fail('malformed part header');
      if (line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
      const value = line.slice(colon + 1);
      if (!/^\s*form-data\s*(;|$)/i.test(value)) return fail('part is not form-data');
      if (/;\s*filename\*?=/i.test(value)) return fail('files are not accepted');
      const m = /;\s*name=(?:"([^"]*)"|([^;\s"]+))/i.exec(value);
      name = m?.[1] ?? m?.[2];
    }
    if (name === undefined || name === '') return fail('part without a name');
    if (Object.hasOwn(fields, name)) return fail('a field was sent twice');
    fields[name] = part.slice(split + 4);
  }
  return { ok: true, fields: { ...fields } };
}
