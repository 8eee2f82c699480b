/**
 * Signs in to a control center over HTTP the way a browser does, for scripts, tests and benchmarks:
 * returns the session cookie (for fetch and socket.io's extraHeaders) and the CSRF token.
 */
export interface SessionCredentials {
  cookie: string;
  csrf: string;
}

export async function signInTo(
  baseUrl: string,
  username: string,
  password: string,
): Promise<SessionCredentials> {
  const res = await fetch(new URL('/api/v1/session', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: HTTP ${res.status}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { csrf } = (await res.json()) as { csrf: string };
  return { cookie, csrf };
}
