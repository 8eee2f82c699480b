/**
 * Timestamps in backtest files: epoch milliseconds, or ISO 8601 with an offset (Z or +09:00). A
 * time without an offset is refused: replaying a storm an hour off would move every lead time.
 */
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

export type ParsedTime = { ok: true; ts: number } | { ok: false; error: string };

export function parseTime(text: string): ParsedTime {
  if (/^\d{1,16}$/.test(text)) return { ok: true, ts: Number(text) };
  if (!ISO.test(text)) {
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text))
      return { ok: false, error: `time ${JSON.stringify(text)} has no offset (add Z or +09:00)` };
    return { ok: false, error: `time ${JSON.stringify(text)} is neither epoch ms nor ISO 8601` };
  }
  const ts = Date.parse(text.replace(' ', 'T'));
  if (!Number.isFinite(ts) || ts < 0)
    return { ok: false, error: `time ${JSON.stringify(text)} is not a valid date` };
  return { ok: true, ts };
}

/** "2011-07-27 05:20 +09:00": in the machine's time zone, as officials read their own clock. */
export function formatLocal(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const zone = `${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())} ${zone}`;
}

/** "3 h 20 min", "2 d 4 h", "45 min", "20 s". */
export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}
