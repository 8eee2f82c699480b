/**
 * REST calls to the control center. The session cookie is HttpOnly (the browser sends it); the CSRF
 * token comes from GET/POST /api/v1/session and goes back in x-csrf-token on every change.
 */
let csrf = '';

export interface SessionInfo {
  user: { username: string; role: string };
  csrf: string;
}

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiFailure(res.status, data.code ?? 'SG_ERR_HTTP', data.message ?? res.statusText);
  return data as T;
}

export async function session(): Promise<SessionInfo | null> {
  try {
    const s = await call<SessionInfo>('GET', '/api/v1/session');
    csrf = s.csrf;
    return s;
  } catch {
    return null;
  }
}

export async function signIn(username: string, password: string): Promise<SessionInfo> {
  const s = await call<SessionInfo>('POST', '/api/v1/session', { username, password });
  csrf = s.csrf;
  return s;
}

export const signOut = () => call<void>('DELETE', '/api/v1/session');

export interface Alert {
  id: number;
  site: string;
  opened: number;
  updated: number;
  cleared: number | null;
  level: number;
  maxLevel: number;
  dataState: string;
  acknowledged: number | null;
  ackBy: string | null;
  ackComment: string | null;
}
export interface AlertEvent {
  id: number;
  alertId: number;
  ts: number;
  kind: string;
  actor: string | null;
  level: number | null;
  dataState: string | null;
  text: string | null;
}

export const listAlerts = () => call<{ alerts: Alert[] }>('GET', '/api/v1/alerts?state=active');
export const alertDetail = (id: number) =>
  call<{ alert: Alert; history: AlertEvent[] }>('GET', `/api/v1/alerts/${id}`);
export const acknowledge = (id: number, comment: string) =>
  call<Alert>('POST', `/api/v1/alerts/${id}/ack`, { comment });
export const release = (site: string, reason: string) =>
  call('POST', `/api/v1/sites/${encodeURIComponent(site)}/release`, { reason });
export const manualLevel = (site: string, level: number, reason: string) =>
  call('POST', `/api/v1/sites/${encodeURIComponent(site)}/manual-level`, { level, reason });
export const siteHealth = (site: string) =>
  call<Record<string, unknown>>('GET', `/api/v1/sites/${encodeURIComponent(site)}/health`);
