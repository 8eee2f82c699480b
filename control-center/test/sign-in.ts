import type { Role } from '../src/auth/users.ts';
import type { ControlCenter } from '../src/server.ts';

export interface SignedIn {
  username: string;
  cookie: string;
  csrf: string;
  /** fetch against the control center as this user; state-changing requests carry the CSRF token. */
  fetch(path: string, init?: { method?: string; body?: unknown; csrf?: boolean }): Promise<Response>;
}

let n = 0;

/** Adds a user with `role` and signs in through the real sign-in route. */
export async function signIn(
  center: ControlCenter,
  role: Role,
  username = `${role}-${++n}`,
): Promise<SignedIn> {
  const password = `pw-${username}-correct-horse`;
  await center.users.add(username, role, password);
  const res = await fetch(`${center.url}api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in ${username}: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const { csrf } = (await res.json()) as { csrf: string };
  return {
    username,
    cookie,
    csrf,
    fetch(path, init = {}) {
      const headers: Record<string, string> = { cookie };
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      if (init.csrf !== false && init.method && init.method !== 'GET') headers['x-csrf-token'] = csrf;
      return fetch(`${center.url}${path.replace(/^\//, '')}`, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    },
  };
}
