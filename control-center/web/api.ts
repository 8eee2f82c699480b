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

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
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
  // The API's one error body is { error, message } (control-center/src/http/errors.ts).
  if (!res.ok) throw new ApiFailure(res.status, data.error ?? 'SG_ERR_HTTP', data.message ?? res.statusText);
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
  call<SiteHealth>('GET', `/api/v1/sites/${encodeURIComponent(site)}/health`);

const site$ = (s: string) => encodeURIComponent(s);

export interface Bucket {
  start: number;
  count: number;
  values: Record<string, { min: number; max: number; mean: number }>;
}
export interface Range {
  site: string;
  sensor: string;
  from: number;
  to: number;
  stepMs: number;
  buckets: Bucket[];
}
/** A sensor's readings over [from, to], downsampled on the server to at most `points` buckets. */
export const readings = (site: string, sensor: string, from: number, to: number, points = 500) =>
  call<Range>(
    'GET',
    `/api/v1/sites/${site$(site)}/sensors/${site$(sensor)}/readings?from=${from}&to=${to}&points=${points}`,
  );

/** Rule thresholds as the engine applies them (partial: the charts draw what is there). */
export interface Rules {
  tilt?: { level1?: { degPerHour?: number }; level2?: { degPerHour?: number } };
  displacement?: {
    level2?: { mmPerHour?: number };
    level3?: { mmPerHour?: number };
    level4?: { mmPerHour?: number; forecastHours?: number };
  };
  rain?: {
    level1?: { mm3h?: number };
    level2?: { mm3h?: number };
    swi?: { criticalMm?: number };
  };
}
export interface SiteRules {
  site: string;
  sensors: Array<{ id: string; kind: string; baseline: { x: number; y: number } | null }>;
  rules: Rules;
}
export const siteRules = (site: string) => call<SiteRules>('GET', `/api/v1/sites/${site$(site)}/rules`);

export interface SiteHealth {
  engine: {
    level: number;
    sensors: Record<string, { status: string; healthy: boolean; since: number; lastTs: number | null }>;
    swi: Record<string, number>;
    forecasts: Record<string, { tf: number; r2: number }>;
  } | null;
}

export interface GatewayHealth {
  site: string;
  id: string;
  online: boolean;
  state: string;
  lastSeen: number | null;
  seqGaps: number;
  clockFault: boolean;
  queueDepth: number | null;
  supplyV: number | null;
  cpuTempC: number | null;
}
export const gateways = () => call<{ gateways: GatewayHealth[] }>('GET', '/api/v1/gateways');

export interface Command {
  id: string;
  name: string;
  args: Record<string, unknown>;
  actor: string;
  sent: number;
  status: 'sent' | 'acked' | 'failed' | 'timeout';
  answered: number | null;
  error: string | null;
}
export const commands = (site: string, gw: string) =>
  call<{ commands: Command[] }>('GET', `/api/v1/gateways/${site$(site)}/${site$(gw)}/commands`);
export const sendCommand = (site: string, gw: string, name: string, args: Record<string, number | string>) =>
  call<Command>('POST', `/api/v1/gateways/${site$(site)}/${site$(gw)}/commands`, { name, args });

export const siteAlerts = (site: string) =>
  call<{ alerts: Alert[] }>('GET', `/api/v1/alerts?state=all&site=${site$(site)}`);

/** A backtest run (web/backtest.ts): the site's thresholds and the changed ones over a period or uploaded readings. */
export const backtest = (site: string, body: unknown) =>
  call<import('./backtest.ts').Result>('POST', `/api/v1/sites/${site$(site)}/backtest`, body);
