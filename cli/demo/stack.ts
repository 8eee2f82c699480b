import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type BrokerService,
  type DeviceRegistry,
  openDeviceRegistry,
  openSqliteStore,
  type Store,
  startBroker,
} from '@slopeguard/broker';
import { type ControlCenter, startControlCenter } from '@slopeguard/control-center';
import type { WebhookBody } from '@slopeguard/control-center/notify/channels/webhook.ts';
import { parseNotifyConfig, type ResolvedNotify } from '@slopeguard/control-center/notify/config.ts';
import { demoStory, type StoryRole } from '@slopeguard/simulators';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { demoWarnings } from './demo-areas.ts';
import { type DemoGateway, startDemoGateway } from './gateway.ts';
import { type DemoReceiver, startDemoReceiver } from './webhook-receiver.ts';

/**
 * The whole chain in one process, on embedded defaults: Aedes broker with the recorder writing to
 * SQLite, the control center, and one real gateway agent per site (cli/demo/gateway.ts: durable queue
 * and local rules under the data directory) whose sensors are simulated. Used by `slopeguard demo`,
 * the end-to-end tests and the pipeline benchmark.
 */
export interface DemoOptions {
  host: string;
  mqttPort: number;
  httpPort: number;
  dataDir: string;
  sites: number;
  /** Sampling interval of the sites' sensors; 0 = they sample only when told (tests, bench). */
  intervalMs: number;
  logger: Logger;
  /**
   * Tell the demo's story (simulators/src/demo-story.ts): 24 h of history for every site, one site in
   * a storm that reaches level 3 or more 30 s to about 7 minutes after start, one with a faulty sensor, the
   * rest calm. Off for tests and benchmarks, which drive the gateways themselves.
   */
  story?: boolean;
  /**
   * With `story`: the storm site reaches level 3 at least this long after start (default 30 s); the
   * storm browser test gives its page time to sign in and see the site below level 3 first.
   */
  stormLeadMs?: number;
  /**
   * With `story`: the sites' histories wait for this too. The storm browser test holds them until
   * its page is watching, so that the page sees the whole story (on a loaded machine, signing in
   * could take longer than loading the history, and the page then came up after the crossing).
   */
  holdHistory?: Promise<void>;
  /** With `story`: called for each notification the demo's webhook receiver accepts. */
  onNotification?: (d: WebhookBody) => void;
}

/**
 * Each contact has its own address (a chat id of the stand-in gateway): the outbox de-duplicates on
 * (alert, level, channel, address, round), so two contacts with one empty address on one channel
 * were one notice, and the head of division was never told.
 */
function demoNotify(receiver: DemoReceiver): ResolvedNotify {
  const parsed = parseNotifyConfig({
    channels: { 'sms-gateway': { kind: 'webhook', url: receiver.url, secret: receiver.secret } },
    escalation: {
      default_chain: 'officials',
      chains: {
        officials: {
          min_level: 2,
          repeat_minutes: 10,
          tiers: [
            {
              after_minutes: 0,
              contacts: [{ id: 'duty-officer', channel: 'sms-gateway', address: 'chat:duty-officer' }],
            },
            {
              after_minutes: 5,
              contacts: [
                { id: 'head-of-division', channel: 'sms-gateway', address: 'chat:head-of-division' },
              ],
            },
          ],
        },
      },
    },
  });
  if (!parsed.ok) throw new Error(`demo notify config: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface DemoStack {
  readonly mqttUrl: string;
  /** Read-only account printed for `mosquitto_sub`; a fresh password every run. */
  readonly observer: Credentials;
  /** The gateways' accounts, by site (tests use them; the demo does not print them). */
  readonly gatewayAccounts: ReadonlyMap<string, Credentials>;
  readonly registryPath: string;
  /** The device registry the broker authenticates against (benchmarks provision load generators here). */
  readonly registry: DeviceRegistry;
  readonly dashboardUrl: string;
  /** The dashboard's admin sign-in: a new password every run. */
  readonly admin: Credentials;
  /** With `story`: the webhook receiver that alerts escalate to. */
  readonly receiver: DemoReceiver | undefined;
  readonly dbPath: string;
  readonly store: Store;
  readonly broker: BrokerService;
  readonly center: ControlCenter;
  readonly gateways: readonly DemoGateway[];
  /** Resolves when every gateway has published its history and is live. */
  readonly ready: Promise<void>;
  /** What each site plays in the story (empty without `story`). */
  readonly roles: ReadonlyMap<string, StoryRole>;
  readonly metrics: Registry;
  close(): Promise<void>;
}

/** How long the demo waits for the control center to take in a site's history. */
const HISTORY_SEEN_MS = 60_000;

/**
 * Resolves once the control center has taken in the site's readings up to `ts`: the broker
 * acknowledges a gateway's batches as soon as they are stored, and the control center works through
 * them a moment later (its live view and its engine take each message in the same step).
 */
async function seenBy(center: ControlCenter, site: string, ts: number): Promise<void> {
  const deadline = Date.now() + HISTORY_SEEN_MS;
  while ((center.view.summary(site)?.lastReadingTs ?? Number.NEGATIVE_INFINITY) < ts) {
    if (Date.now() > deadline) throw new Error(`the control center has not seen ${site}'s history`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const DEMO_SITES = ['demo-a', 'demo-b', 'demo-c', 'demo-d', 'demo-e', 'demo-f', 'demo-g', 'demo-h'];

export async function startDemoStack(o: DemoOptions): Promise<DemoStack> {
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, 'readings.sqlite');
  const metrics = new Registry();
  const registryPath = join(dataDir, 'registry.sqlite');
  const store = openSqliteStore(dbPath, {
    onMergeError: (err) =>
      o.logger.error({ err: err.message }, 'SQLite store: merging recent readings failed; will retry'),
  });
  const registry = openDeviceRegistry(registryPath);
  const closers: Array<() => Promise<void>> = [async () => store.close(), async () => registry.close()];
  const closeAll = async () => {
    // Reverse order of start: producers first, the store last, so that every acknowledged reading
    // has been written before the file is closed.
    for (const c of closers.reverse())
      await c().catch((err) => o.logger.error({ err }, 'shutdown step failed'));
  };
  try {
    // The demo provisions its own accounts, as an installer would with `slopeguard device add`;
    // `replace` issues fresh secrets on every run, so nothing secret survives in ./data.
    const observer = {
      username: 'observer',
      password: registry.addAccount('observer', { role: 'observer', replace: true }),
    };
    const center = {
      username: 'control-center',
      password: registry.addAccount('control-center', { role: 'control-center', replace: true }),
    };
    const gatewayAccounts = new Map<string, Credentials>();
    for (const site of DEMO_SITES.slice(0, o.sites)) {
      gatewayAccounts.set(site, {
        username: `${site}.gw-1`,
        password: registry.addDevice(site, 'gw-1', { replace: true }),
      });
    }
    const broker = await startBroker({
      mqtt: { host: o.host, port: o.mqttPort },
      store,
      logger: o.logger,
      metrics,
      auth: { registry },
      // The story's storm site publishes ~100,000 readings of history at start; the default
      // 1,000 readings/s per gateway would make the demo wait over a minute for it.
      ...(o.story ? { limits: { readingsPerSecond: 50_000, readingBurst: 200_000 } } : {}),
    });
    closers.push(() => broker.close());
    const mqttHost = o.host.includes(':') ? `[${o.host}]` : o.host;
    const mqttUrl = `mqtt://${mqttHost}:${broker.port}`;
    const siteIds = DEMO_SITES.slice(0, o.sites);
    const stories = o.story
      ? demoStory(siteIds, {
          now: Date.now(),
          intervalMs: o.intervalMs || 1000,
          ...(o.stormLeadMs !== undefined ? { stormLeadMs: o.stormLeadMs } : {}),
        })
      : [];
    const configs = new Map(stories.flatMap((s) => (s.config ? [[s.site, s.config] as const] : [])));
    // With the story, alerts escalate to a webhook receiver inside the demo (an SMS gateway's
    // stand-in) that prints each notification: the duty officer at once, the head of division
    // after 5 minutes without acknowledgement, reminders every 10 minutes.
    let receiver: DemoReceiver | undefined;
    if (o.story) {
      receiver = await startDemoReceiver(o.host, randomBytes(24).toString('base64url'), (d) =>
        o.onNotification?.(d),
      );
      const r = receiver;
      closers.push(() => r.close());
    }
    const notify = receiver ? demoNotify(receiver) : undefined;
    const controlCenter = await startControlCenter({
      http: { host: o.host, port: o.httpPort },
      // Scenario sites bring their rules; the others have no configuration file: every rule at its
      // default, sensors as reported.
      sites: { configs, autoConfigure: true, statePath: join(dataDir, 'engine-state.sqlite') },
      mqtt: { url: mqttUrl, ...center },
      logger: o.logger,
      metrics,
      store,
      db: { path: join(dataDir, 'control-center.sqlite') },
      ...(notify ? { notify } : {}),
      warn: demoWarnings(siteIds, dataDir, notify),
    });
    closers.push(() => controlCenter.close());
    // The operational database persists across demo runs: a fresh admin password every run.
    const admin = { username: 'admin', password: randomBytes(12).toString('base64url') };
    if (controlCenter.users.get(admin.username))
      await controlCenter.users.setPassword(admin.username, admin.password);
    else await controlCenter.users.add(admin.username, 'admin', admin.password);
    // Gateways start together; each hands its history (if any) to its queue in the background, then
    // goes live. Stopped before the control center and the broker (closers run in reverse).
    // The histories start once every gateway is up, so that handing them over (seconds of work for
    // the storm site) does not slow the other sites' start.
    let allUp: () => void = () => undefined;
    const historyAfter = new Promise<void>((resolve) => {
      allUp = resolve;
    }).then(() => o.holdHistory);
    const gateways = await Promise.all(
      siteIds.map(async (site): Promise<DemoGateway> => {
        const story = stories.find((s) => s.site === site);
        const account = gatewayAccounts.get(site);
        if (!account) throw new Error(`no account for ${site}`);
        const gw = await startDemoGateway({
          dataDir,
          mqttUrl,
          site,
          gateway: 'gw-1',
          ...account,
          intervalMs: o.intervalMs,
          logger: o.logger,
          ...(story ? { story, historyAfter } : {}),
        });
        closers.push(() => gw.stop());
        return gw;
      }),
    );
    allUp();
    return {
      mqttUrl,
      observer,
      gatewayAccounts,
      registryPath,
      registry,
      dashboardUrl: controlCenter.url,
      admin,
      receiver,
      dbPath,
      store,
      broker,
      center: controlCenter,
      gateways,
      ready: Promise.all(gateways.map((g) => g.live.then((ts) => seenBy(controlCenter, g.site, ts)))).then(
        () => undefined,
      ),
      roles: new Map(stories.map((s) => [s.site, s.role])),
      metrics,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
