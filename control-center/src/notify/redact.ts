/**
 * Replaces every occurrence of the given secrets (keys, passwords) and personal data (recipients'
 * addresses) in a text before it is logged or stored as a delivery's last error. Error texts from
 * SMTP servers and network stacks quote addresses and URLs, so every error passes through here.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so that a secret that contains another is replaced whole.
  for (const s of [...secrets].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('[redacted]');
  }
  // Bounded: a receiver's error page must not grow the database or the log.
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}
