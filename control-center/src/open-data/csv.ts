/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A text cell starting
 * with = + - @ (or a tab or CR) gets a leading ' so a spreadsheet does not run it as a formula
 * (CSV injection); numbers are written as they are.
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const csvLine = (cells: ReadonlyArray<string | number | null | undefined>) =>
  `${cells.map(csvCell).join(',')}\r\n`;
