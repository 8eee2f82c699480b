/**
 * Issue 10: 1,000 sites live at 20,000 readings/s (each site's gateway sends 20 readings once a
 * second over its own MQTT connection); meanwhile, site after site, one message carries a
 * cloudburst (100 mm in one rain reading: the 3-hour rule's level 2 at once). Timed per site from
 * the publish of that message to the signed webhook's arrival at a local receiver: reading
 * published -> broker and recorder -> control center engine -> level change -> alert stored ->
 * escalation -> outbox -> webhook delivered. The server (`slopeguard server`, one process) runs
 * as a child; the gateways and the receiver run in this process on the same cores, so the
 * figures are conservative. The load is paced by the clock (paced-load.ts), so that a late event
 * loop here delays messages but does not drop them from the offered rate. `SG_BENCH_SITES` changes the number of sites.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { verifyWebhook } from '@slopeguard/control-center/notify/webhook-signature.ts';
import { machineLoad, percentile, SENSORS_PER_SITE, siteId, startCenterServer } from './center-server.ts';
import { startPacedLoad } from './paced-load.ts';
import type { BenchResult } from './run.ts';

const SITES = Number(process.env.SG_BENCH_SITES ?? 1000);
const WARMUP_S = 10;
/** Cloudbursts: one site every 50 ms for 15 s (distinct sites: each stays at level 2). */
const TRIGGERS = Math.min(300, SITES);
const TRIGGER_EVERY_MS = 50;
const SECRET = 'bench-webhook-secret-0123456789';

export async function run(): Promise<BenchResult[]> {
  const arrived = new Map<string, number>();
  let refused = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const v = verifyWebhook(req.headers, body, SECRET, Date.now());
      if (!v.ok) {
        refused++;
        res.writeHead(401).end();
        return;
      }
      const site = (JSON.parse(body) as { data?: { site?: string } }).data?.site;
      if (site && !arrived.has(site)) arrived.set(site, Date.now());
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sms`;
  const server = await startCenterServer({
    sites: SITES,
    env: { SG_BENCH_SMS_SECRET: SECRET },
    notify: `  channels:
    sms: { kind: webhook, url: "${hookUrl}", secret_env: SG_BENCH_SMS_SECRET }
  escalation:
    default_chain: officials
    chains:
      officials:
        min_level: 1
        tiers:
          - contacts: [{ id: duty-sms, channel: sms, address: "+82-10-5555-0100" }]
`,
  });
  try {
    // The official level as the broker carries it: splits the path at the level change.
    const levelAt = new Map<string, number>();
    server.observer.on('message', (topic, payload) => {
      const site = topic.split('/')[2] ?? '';
      if (!levelAt.has(site) && (JSON.parse(payload.toString()) as { level: number }).level > 0)
        levelAt.set(site, Date.now());
    });
    await server.observer.subscribeAsync('slopeguard/v1/+/level', { qos: 1 });
    const triggered = new Map<number, number>();
    const wanted = new Set<number>();
    const load = startPacedLoad({
      gateways: server.gateways,
      sites: SITES,
      onPublish: (i, at) => {
        if (wanted.delete(i)) triggered.set(i, at);
      },
    });
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const stored0 = await server.metric('slopeguard_broker_readings_stored_total');
    // This process's own event-loop delay: how long the load generator and receiver wait for a core.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const use0 = server.usage();
    const t0 = Date.now();
    const load0 = machineLoad();
    for (let n = 0; n < TRIGGERS; n++) {
      // Spread over the sites so that cloudbursts do not queue behind each other in one connection.
      const i = Math.floor((n * SITES) / TRIGGERS);
      load.rainOnce(i, 100);
      wanted.add(i);
      await new Promise((r) => setTimeout(r, TRIGGER_EVERY_MS));
    }
    // Generous: on a loaded machine the backlog drains slowly, and a late webhook is a figure too.
    const until = Date.now() + 60_000;
    while (arrived.size < TRIGGERS && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - t0) / 1000;
    lag.disable();
    const stored = (await server.metric('slopeguard_broker_readings_stored_total')) - stored0;
    const use1 = server.usage();
    const durable = async (suffix: string) =>
      server.metric(`slopeguard_broker_publish_to_durable_seconds_${suffix}`);
    const durableMs = ((await durable('sum')) / Math.max(1, await durable('count'))) * 1000;
    const { published, failed } = load.stop();

    const latencies: number[] = [];
    const toLevel: number[] = [];
    for (const [i, at] of triggered) {
      const got = arrived.get(siteId(i));
      if (got !== undefined) latencies.push(got - at);
      const level = levelAt.get(siteId(i));
      if (level !== undefined) toLevel.push(level - at);
    }
    latencies.sort((a, b) => a - b);
    toLevel.sort((a, b) => a - b);
    const p99 = percentile(latencies, 99);
    console.log(`  (${load0} at the start of the measurement; ${machineLoad()} at its end)`);
    return [
      {
        name: `readings stored during the measurement, ${SITES} sites`,
        value: Math.round(stored / seconds),
        unit: 'readings/s',
        target: '>= 20000',
        pass: stored / seconds >= 20_000,
      },
      {
        name: 'telemetry messages published / failed',
        value: published,
        unit: `(${published * SENSORS_PER_SITE} readings), ${failed} failed`,
      },
      {
        name: 'cloudbursts -> webhooks received',
        value: latencies.length,
        unit: `of ${triggered.size}; ${refused} refused signatures`,
        pass: latencies.length === triggered.size && refused === 0,
      },
      {
        name: 'publish -> level topic (observer) p50 / p99',
        value: percentile(toLevel, 50),
        unit: `ms / ${percentile(toLevel, 99)} ms (${toLevel.length} levels)`,
      },
      { name: 'publish -> level -> alert -> webhook p50', value: percentile(latencies, 50), unit: 'ms' },
      {
        name: 'publish -> level -> alert -> webhook p99',
        value: p99,
        unit: 'ms',
        target: '<= 500',
        pass: p99 <= 500,
      },
      { name: 'publish -> level -> alert -> webhook max', value: latencies.at(-1) ?? Number.NaN, unit: 'ms' },
      {
        name: 'broker: publish -> durable in the store, mean',
        value: Math.round(durableMs),
        unit: 'ms',
      },
      {
        name: 'bench process event-loop delay p99 (machine load)',
        value: Math.round(lag.percentile(99) / 1e6),
        unit: 'ms',
      },
      {
        name: 'server CPU during the measurement',
        value: Math.round(((use1.cpuS - use0.cpuS) / seconds) * 100),
        unit: '% of one core',
      },
      { name: 'server RSS', value: Math.round(use1.rssMb), unit: 'MB' },
    ];
  } finally {
    await server.stop();
    await new Promise<void>((r) => {
      receiver.closeAllConnections();
      receiver.close(() => r());
    });
  }
}
