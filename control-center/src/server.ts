import type { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { contractPublisher, isAhead, type SiteLevel, siteTopic } from '@slopeguard/core';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import { childLogger } from '@slopeguard/core/log.ts';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AlertManager } from './alerts/alert-manager.ts';
import { type Alert, sqliteAlertStore } from './alerts/alert-store.ts';
import { type AuditLog, sqliteAuditLog } from './audit/audit-log.ts';
import { SignInLimiter } from './auth/rate-limit.ts';
import { sqliteSessionStore } from './auth/sessions.ts';
import { sqliteTokenStore } from './auth/tokens.ts';
import { sqliteUserStore, type UserStore } from './auth/users.ts';
import { CommandService } from './commands/command-service.ts';
import { openOperationalDb } from './db/open.ts';
import { type EngineStateStore, memoryEngineStateStore, openEngineStateStore } from './engine-state-store.ts';
import { type AuthContext, guard, principalFromCookie, registerAuth } from './http/auth.ts';
import { allowedHostSet } from './http/hosts.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerSecurity } from './http/security.ts';
import { httpsServerFactory, registerHsts, type TlsFiles } from './http/tls.ts';
import { LiveView, type SensorView } from './live-view.ts';
import { startMqttFeed } from './mqtt-feed.ts';
import { alertUpdates } from './notify/alert-source.ts';
import { auditSinkFor } from './notify/audit-adapter.ts';
import { type Clock as NotifyClock, systemClock } from './notify/clock.ts';
import type { ResolvedNotify } from './notify/config.ts';
import { createNotifier, type Notifier } from './notify/service.ts';
import { registerOpenDataRoutes, sensorsOfSite } from './open-data/routes.ts';
import { healthWithRain24h } from './rain-24h.ts';
import { startRealtime } from './realtime.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerAlertNotificationRoutes } from './routes/alert-notifications.ts';
import { registerAlertRoutes } from './routes/alerts.ts';
import { type BacktestLimits, registerBacktestRoutes } from './routes/backtest.ts';
import { registerGatewayRoutes } from './routes/gateways.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { knownSensor, registerReadingRoutes } from './routes/readings.ts';
import { registerReadyRoute } from './routes/ready.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerSiteRuleRoutes } from './routes/site-rules.ts';
import { placedBy, registerSiteRoutes } from './routes/sites.ts';
import { registerWebRoutes } from './routes/web.ts';
import { SiteLevels } from './site-levels.ts';
import { SiteMonitor } from './site-monitor.ts';
import type { ReadingStore } from './store/reading-store.ts';
import type { WarnService } from './warn/service.ts';
import {
  createWarnings,
  notifyForWarnings,
  registerWarnings,
  startWarnings,
  WARN_OUTBOX_CONCURRENCY,
  type WarnOptions,
} from './warn/wire.ts';

/** The part of a Store the control center reads at start-up (structurally the broker's Store). */
export interface LatestReadings {
  latest(filter?: { site?: string }): Promise<ReadonlyArray<SensorView & { site: string }>>;
}

export interface ControlCenterOptions {
  /** allowedHosts: Host names answered besides the listen address, localhost and 127.0.0.1. */
  http: {
    host: string;
    port: number;
    allowedHosts?: readonly string[];
    /** Serve HTTPS with these PEM files instead of plain HTTP (cookies are then Secure). */
    tls?: TlsFiles;
  };
  mqtt: { url: string; username?: string; password?: string };
  logger: Logger;
  metrics: Registry;
  /** The readings store (the broker's Store): seeds the picture at start-up, serves ranges. */
  store?: ReadingStore;
  /** Folder of the built dashboard; defaults to control-center/dist/web. */
  webRoot?: string;
  /** Site rules: configured sites, whether to configure unknown sites from their readings, state file. */
  sites?: { configs?: ReadonlyMap<string, SiteConfig>; autoConfigure?: boolean; statePath?: string };
  /** How often the engines' clocks advance without readings (stale sensors, hold-down), ms. */
  tickMs?: number;
  /** The control center's clock (a fake one in tests); defaults to Date.now. */
  now?: () => number;
  /**
   * Data state: a gateway silent this long is offline (default 180 s: three of the gateway's
   * default 60 s status periods); a sensor of a site without an engine is stale after
   * `fallbackStaleMs` (default 180 s).
   */
  dataState?: { gatewaySilenceMs?: number; fallbackStaleMs?: number };
  /** The operational database (users, sessions, audit, alerts); in memory when omitted (tests). */
  db?: { path: string };
  /**
   * Sessions last `sessionTtlMs` (default 12 h); cookies are Secure when `secureCookies` (set it
   * behind a TLS proxy) or when the request came over HTTPS.
   */
  auth?: { sessionTtlMs?: number; secureCookies?: boolean };
  /** A gateway command without a cmd/ack within this long is marked timeout (default 30 s). */
  commandTimeoutMs?: number;
  /**
   * Officials' notifications (the resolved `notify:` section): channels, retries and the escalation
   * of unacknowledged alerts. None are sent without it.
   */
  notify?: ResolvedNotify;
  /** The clock retries and escalation run on (a fake one in tests); defaults to the system clock. */
  notifyClock?: NotifyClock;
  /** Residents' warnings (the resolved `warn:` section and each site's area); none without it. */
  warn?: WarnOptions;
  /** Bounds of the dashboard's backtest runs (routes/backtest.ts BACKTEST_LIMITS; tests lower them). */
  backtestLimits?: Partial<BacktestLimits>;
}

export interface ControlCenter {
  readonly url: string;
  readonly port: number;
  readonly view: LiveView;
  readonly levels: SiteLevels;
  readonly monitor: SiteMonitor;
  readonly users: UserStore;
  readonly audit: AuditLog;
  readonly db: DatabaseSync;
  /** The notification subsystem, when `notify` is configured. */
  readonly notifier: Notifier | undefined;
  /** The residents' warnings, when `warn` is configured. */
  readonly warn: WarnService | undefined;
  /** Every route, as Fastify registered it (the security test enumerates the state-changing ones). */
  readonly routes: ReadonlyArray<{ method: string; url: string }>;
  /** Advances engines and data states to `now` (the ticker calls it; tests call it with a fake clock). */
  tick(now?: number): void;
  close(): Promise<void>;
}

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

export async function startControlCenter(options: ControlCenterOptions): Promise<ControlCenter> {
  const logger = childLogger(options.logger, { component: 'control-center' });
  const clock = options.now ?? Date.now;
  const view = new LiveView();
  if (options.store) {
    // Seed the picture from the store so a restarted control center does not show empty sites.
    // Rows stored before readings from the future were refused must not show as fresh forever.
    const now = Date.now();
    for (const r of await options.store.latest())
      if (!isAhead(r.ts, now)) view.applyReadings(r.site, r.gateway, [r], r.ts);
  }

  // pino's Logger and Fastify's base logger differ only in generic parameters; the instance is the same.
  const httpLogger = childLogger(logger, { component: 'http' }) as FastifyBaseLogger;
  // Per-request logs would drown the gateway and alert logs; errors are still logged.
  const app = Fastify({
    loggerInstance: httpLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.http.tls ? httpsServerFactory(options.http.tls) : {}),
  });
  if (options.http.tls) registerHsts(app);
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  const allowedHosts = allowedHostSet(options.http.host, options.http.allowedHosts);
  await registerSecurity(app, allowedHosts);
  await registerOpenApi(app);
  const db = openOperationalDb(options.db?.path ?? ':memory:');
  const auth: AuthContext = {
    users: sqliteUserStore(db, clock),
    sessions: sqliteSessionStore(db, options.auth?.sessionTtlMs ?? 12 * 3_600_000, clock),
    tokens: sqliteTokenStore(db, clock),
    audit: sqliteAuditLog(db, clock),
    secureCookies: options.auth?.secureCookies ?? false,
  };
  await registerAuth(app, auth);
  registerSessionRoutes(app, auth, new SignInLimiter({ now: clock }));
  await registerAdminRoutes(app, auth, { metrics: options.metrics, logger, now: clock });
  // A site's file, also before its engine has started (the first reading starts it).
  const configOf = (site: string) => levels.config(site) ?? options.sites?.configs?.get(site);
  registerSiteRoutes(
    app,
    view,
    () => monitor,
    guard(auth, 'read'),
    (site) => configOf(site)?.position,
    healthWithRain24h(() => options.store),
  );
  registerSiteRuleRoutes(app, configOf, guard(auth, 'read'));
  registerBacktestRoutes(app, {
    auth,
    store: () => options.store,
    configOf,
    now: clock,
    logger,
    limits: options.backtestLimits,
  });
  registerReadingRoutes(app, {
    store: () => options.store,
    known: knownSensor(view, configOf),
    now: clock,
    logger,
    read: guard(auth, 'read'),
  });

  // The official level: the engine's, or an operator's manual level when it is higher.
  const alertStore = sqliteAlertStore(db);
  const engineLevels = new Map<string, SiteLevel>();
  const officialOf = (site: string, ts: number): SiteLevel | undefined => {
    const eng = engineLevels.get(site);
    const m = alertStore.manual(site);
    if (!m || m.level <= (eng?.level ?? 0)) return eng;
    const manual = {
      rule: 'manual',
      level: m.level as SiteLevel['level'],
      operator: m.actor.slice(0, 64),
      text: m.reason.slice(0, 1000),
    };
    return {
      level: m.level as SiteLevel['level'],
      ts,
      reasons: [manual, ...(eng?.reasons ?? [])].slice(0, 64),
    };
  };
  const officialLevel = (site: string) =>
    officialOf(site, clock())?.level ?? view.summary(site)?.level?.level ?? 0;
  const updates = alertUpdates((site) => officialOf(site, clock())?.reasons ?? []);
  const alertChanged = (a: Alert) => {
    realtime.emit('alert', a);
    updates.publish(a);
  };
  let ownUrl = '';
  const warn = createWarnings({
    options: options.warn,
    db,
    notify: options.notify,
    logger,
    now: clock,
    ownUrl: () => ownUrl,
  });
  const notifier: Notifier | undefined =
    options.notify || warn
      ? createNotifier({
          db,
          config: notifyForWarnings(options.notify),
          clock: options.notifyClock,
          log: childLogger(logger, { component: 'notify' }),
          audit: auditSinkFor(auth.audit),
          channels: warn?.channels(),
          concurrency: warn ? WARN_OUTBOX_CONCURRENCY : undefined,
        })
      : undefined;
  const alerts = new AlertManager(alertStore, (a) => {
    logger.warn(
      { site: a.site, alert: a.id, level: a.level, data: a.dataState, cleared: a.cleared !== null },
      'alert',
    );
    alertChanged(a);
  });
  notifier?.start(updates.source);
  const observe = (site: string, now = clock()) => {
    const level = officialLevel(site);
    const data = monitor.get(site)?.state ?? 'live';
    const alert = alerts.observe(site, level, data, now);
    warn?.observe(site, level, data, alert?.id, now);
  };
  const refresh = (site: string) => {
    const msg = officialOf(site, clock());
    if (msg) publishLevel(site, msg);
    observe(site);
  };
  const gatewaySilenceMs = options.dataState?.gatewaySilenceMs ?? 180_000;
  registerGatewayRoutes(app, auth, view, () => commands, clock, gatewaySilenceMs);
  registerAlertRoutes(app, auth, alertStore, {
    now: clock,
    engineLevel: (site) => levels.level(site),
    officialLevel,
    refresh,
    release: (site, operator) => levels.release(site, clock(), operator).length > 0,
    alertChanged,
  });
  registerAlertNotificationRoutes(app, auth, alertStore, {
    db,
    policy: options.notify?.policy,
    now: () => (options.notifyClock ?? systemClock).now(),
  });
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ ok: true }));
  registerOpenDataRoutes(app, {
    db,
    audit: auth.audit,
    store: () => options.store,
    sensorsOf: sensorsOfSite(view, configOf),
    now: clock,
    logger,
    openData: guard(auth, 'open-data'),
  });
  let brokerConnected = () => false;
  registerReadyRoute(app, {
    store: () => options.store,
    brokerConnected: () => brokerConnected(),
    now: clock,
    logger,
  });
  registerMetricsRoute(app, options.metrics);
  await registerWarnings(app, warn, {
    notifier: () => notifier,
    auth,
    metrics: options.metrics,
    logger,
    now: clock,
  });
  await registerWebRoutes(app, options.webRoot ?? DEFAULT_WEB_ROOT);
  await app.listen({ host: options.http.host, port: options.http.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.http.port;
  const host = options.http.host.includes(':') ? `[${options.http.host}]` : options.http.host;
  ownUrl = `http://${host}:${port}`;

  const placed = placedBy((site) => configOf(site)?.position);
  const realtime = startRealtime(
    app.server,
    view,
    logger,
    allowedHosts,
    (req) => principalFromCookie(auth, req.headers.cookie),
    { now: clock },
    () => view.overview().map(placed),
  );
  const states: EngineStateStore = options.sites?.statePath
    ? openEngineStateStore(options.sites.statePath)
    : memoryEngineStateStore();
  let publishLevel: (site: string, level: SiteLevel) => void = () => undefined;
  const levels = new SiteLevels({
    configs: options.sites?.configs ?? new Map(),
    autoConfigure: options.sites?.autoConfigure ?? false,
    states,
    logger: childLogger(logger, { component: 'site-levels' }),
    publish: (site, level) => {
      engineLevels.set(site, level);
      refresh(site);
    },
    // Announce a starting site's level so nobody sees "not set" for a watched site; but a fresh
    // engine (no saved state) never overwrites a level another run already published.
    started: (site, level, restored) => {
      engineLevels.set(site, level);
      const official = officialOf(site, level.ts) ?? level;
      if (restored || view.summary(site)?.level == null) publishLevel(site, official);
    },
  });
  const monitor = new SiteMonitor({
    view,
    levels,
    gatewaySilenceMs,
    fallbackStaleMs: options.dataState?.fallbackStaleMs ?? 180_000,
    onChange: (site, data) => {
      logger.info({ site, data: data.state, reasons: data.reasons }, 'site data state');
      realtime.emit('site-data', { site, data });
      observe(site);
    },
  });
  // Before the feed delivers anything: a message that makes the control center observe a site's
  // alert must find the level its engine had before the restart, not the "no level yet" of an
  // engine that waits for the site's first reading (which cleared the alert and opened a second).
  levels.resume();
  const commands = new CommandService({
    db,
    now: clock,
    timeoutMs: options.commandTimeoutMs ?? 30_000,
    publish: (topic, cmd) => contractPublisher(feed.client).publish(topic, cmd),
    onChange: (c) => {
      auth.audit.append({
        actor: 'control-center',
        address: 'mqtt',
        action: 'gateway.command_answer',
        target: `${c.site}/${c.gateway}`,
        outcome: c.status === 'acked' ? 'ok' : 'failed',
        detail: { id: c.id, name: c.name, status: c.status, error: c.error },
      });
      realtime.emit('command', c);
    },
  });
  const feed = await startMqttFeed({
    ...options.mqtt,
    clientId: `${options.mqtt.username ?? 'control-center'}-${port}`,
    view,
    logger: childLogger(logger, { component: 'mqtt-feed' }),
    metrics: options.metrics,
    now: clock,
    onEvent: (e) => {
      if (e.channel === 'telemetry') levels.onReadings(e.site, e.message.readings);
      if (e.channel === 'cmd/ack') return commands.onAck(e.site, e.gateway, e.message);
      realtime.publish(e);
      if (e.channel !== 'level') monitor.evaluate(e.site, clock());
      // A site without an engine here (another control center decides) follows the published level.
      else if (levels.level(e.site) === undefined) observe(e.site);
    },
  });
  brokerConnected = () => feed.client.connected;
  publishLevel = (site, level) => {
    // Retained (CHANNEL_OPTIONS), so a gateway or browser that connects later learns it at once.
    contractPublisher(feed.client)
      .publish(siteTopic(site, 'level'), level)
      .catch((err: Error) => logger.error({ site, err: err.message }, 'level publish failed'));
  };
  // Levels decided before the feed could publish (the restored engines, and any change while it
  // was subscribing) are announced now.
  for (const site of engineLevels.keys()) {
    const msg = officialOf(site, clock());
    if (msg) publishLevel(site, msg);
  }
  startWarnings(warn, notifier, feed.client);
  const tick = (now = clock()) => {
    levels.tick(now);
    monitor.evaluateAll(now);
    warn?.tick(now);
  };
  const ticker = setInterval(() => tick(), options.tickMs ?? 10_000);
  ticker.unref();

  return {
    url: `${options.http.tls ? 'https' : 'http'}://${host}:${port}/`,
    port,
    view,
    levels,
    monitor,
    users: auth.users,
    audit: auth.audit,
    db,
    notifier,
    warn,
    routes,
    tick,
    async close() {
      clearInterval(ticker);
      commands.close();
      await notifier?.close();
      await feed.close();
      levels.saveAll(clock());
      states.close();
      await realtime.close();
      await app.close();
      db.close();
    },
  };
}
