import type { IncomingMessage } from 'node:http';

/**
 * DNS rebinding defence: a browser tricked into resolving evil.example to 127.0.0.1 still sends
 * `Host: evil.example`, so only the names this server is meant to be reached by are answered.
 * The default is the listen address plus localhost and 127.0.0.1 (and ::1).
 */
export function allowedHostSet(listenHost: string, configured?: readonly string[]): Set<string> {
  const set = new Set<string>(['localhost', '127.0.0.1', '::1']);
  if (listenHost !== '0.0.0.0' && listenHost !== '::') set.add(normalise(listenHost));
  for (const h of configured ?? []) set.add(normalise(h));
  return set;
}

function normalise(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`), or undefined if malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header || header.length > 300) return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : undefined;
  }
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

export function hostAllowed(allowed: ReadonlySet<string>, header: string | undefined): boolean {
  const name = hostName(header);
  return name !== undefined && allowed.has(name);
}

/**
 * A browser's WebSocket or cross-site fetch carries Origin; it must be this very server
 * (scheme-less host:port equal to the Host header, and an allowed name). No Origin: not a browser.
 */
export function originAllowed(allowed: ReadonlySet<string>, req: IncomingMessage): boolean {
  if (!hostAllowed(allowed, req.headers.host)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
}
