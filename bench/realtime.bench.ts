/**
 * Issue 10: 100 signed-in socket.io clients while 1,000 sites update (each site's gateway sends one
 * telemetry message of 20 readings a second): the server's CPU and resident memory, first without
 * clients and then with them, and what the clients receive: events and bytes per second each, and
 * the delay from a reading's publish to a client (the newest reading time of each site in the `live`
 * batches, on one client; and every reading of one site on a client that watches it, as an open
 * site page does). The server (`slopeguard server`) runs as a child process and is measured from
 * /proc; the gateways and the 100 clients run in this process on the same cores, so the figures are
 * conservative. `SG_BENCH_SITES` changes the number of sites.
 */
import {
  LIVE_EVENT,
  type LiveBatch,
  READINGS_EVENT,
  SITE_EVENT,
  type SiteReadings,
  WATCH_EVENT,
} from '@slopeguard/control-center/realtime-wire.ts';
import { signInTo } from '@slopeguard/control-center/sign-in-client.ts';
import { io, type Socket } from 'socket.io-client';
import { machineLoad, percentile, siteId, startCenterServer } from './center-server.ts';
import type { BenchResult } from './run.ts';

const SITES = Number(process.env.SG_BENCH_SITES ?? 1000);
const CLIENTS = 100;
const WINDOW_S = 20;
const USER = 'bench-viewer';
const PASSWORD = 'bench-viewer-password-0123';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<BenchResult[]> {
  const server = await startCenterServer({ sites: SITES, users: [[USER, PASSWORD]] });
  const sockets: Socket[] = [];
  try {
    const stopLoad = server.startLoad();
    await sleep(10_000); // engines start, intervals settle

    /** Server CPU (CPU-seconds per second) and peak RSS over a window of `s` seconds. */
    const measure = async (s: number) => {
      const u0 = server.usage();
      const t0 = Date.now();
      let peak = u0.rssMb;
      for (let k = 0; k < s; k++) {
        await sleep(1000);
        peak = Math.max(peak, server.usage().rssMb);
      }
      const u1 = server.usage();
      return { cpu: (u1.cpuS - u0.cpuS) / ((Date.now() - t0) / 1000), rss: peak };
    };
    const load0 = machineLoad();
    const idle = await measure(WINDOW_S);

    // 100 clients, each with its own session (a sign-in each, through the real route).
    let events = 0;
    let bytes = 0;
    let connectErrors = 0;
    const liveLag: number[] = [];
    const readingLag: number[] = [];
    const watched = siteId(0);
    for (let c = 0; c < CLIENTS; c++) {
      const { cookie } = await signInTo(server.httpUrl, USER, PASSWORD);
      // A long connect timeout: on a loaded machine the handshake waits for a busy server.
      const socket = io(server.httpUrl, {
        transports: ['websocket'],
        extraHeaders: { cookie },
        timeout: 120_000,
      });
      // socket.io retries a failed handshake by itself (a busy server may reset one); counted.
      socket.on('connect_error', () => {
        connectErrors++;
      });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.onAny(() => {
        events++;
      });
      // The bytes received, as the WebSocket frames' text (what the browser would decode).
      socket.io.engine.on('data', (d: unknown) => {
        bytes += typeof d === 'string' ? d.length : ((d as ArrayBuffer).byteLength ?? 0);
      });
      // Sampled: one client's view is enough for the delay, and keeps this process lighter.
      if (c === 0) {
        socket.on(LIVE_EVENT, (b: LiveBatch) => {
          const at = Date.now();
          for (const u of b.sites) if (u.lastReadingTs !== undefined) liveLag.push(at - u.lastReadingTs);
        });
      }
      // One client has a site page open: every reading of that site, from its room.
      if (c === 1) {
        const site = new Promise<void>((resolve) => socket.once(SITE_EVENT, () => resolve()));
        socket.emit(WATCH_EVENT, watched);
        await site;
        socket.on(READINGS_EVENT, (r: SiteReadings) => {
          const at = Date.now();
          for (const m of r.messages) for (const x of m.readings) readingLag.push(at - x.ts);
        });
      }
      sockets.push(socket);
    }
    await sleep(5_000);
    events = 0;
    bytes = 0;
    liveLag.length = 0;
    readingLag.length = 0;
    const load1 = machineLoad();
    const busy = await measure(WINDOW_S);
    const perClient = events / CLIENTS / WINDOW_S;
    const bytesPerClient = bytes / CLIENTS / WINDOW_S;
    const { published, failed } = stopLoad();
    const connected = sockets.filter((s) => s.connected).length;
    liveLag.sort((a, b) => a - b);
    readingLag.sort((a, b) => a - b);
    console.log(`  (without clients: ${load0}; with clients: ${load1})`);
    return [
      {
        name: `server CPU, ${SITES} sites updating, no clients`,
        value: Number(idle.cpu.toFixed(2)),
        unit: 'CPU-s/s',
      },
      { name: 'server RSS (peak), no clients', value: Math.round(idle.rss), unit: 'MB' },
      {
        name: `server CPU, ${SITES} sites + ${CLIENTS} signed-in clients`,
        value: Number(busy.cpu.toFixed(2)),
        unit: 'CPU-s/s',
      },
      { name: `server RSS (peak), ${CLIENTS} clients`, value: Math.round(busy.rss), unit: 'MB' },
      {
        name: 'clients connected at the end',
        value: connected,
        unit: `of ${CLIENTS}`,
        pass: connected === CLIENTS,
      },
      { name: 'handshakes retried while connecting', value: connectErrors, unit: 'errors' },
      { name: 'socket.io events per client', value: Number(perClient.toFixed(2)), unit: 'events/s' },
      { name: 'received per client', value: Math.round(bytesPerClient / 1024), unit: 'KB/s' },
      {
        name: 'publish -> client, newest reading of each site in `live` (one client) p50 / p99',
        value: percentile(liveLag, 50),
        unit: `ms / ${percentile(liveLag, 99)} ms (${liveLag.length} samples)`,
      },
      {
        name: `publish -> client, every reading of the watched site ${watched} p50 / p99`,
        value: percentile(readingLag, 50),
        unit: `ms / ${percentile(readingLag, 99)} ms (${readingLag.length} readings)`,
      },
      { name: 'telemetry messages published / failed', value: published, unit: `${failed} failed` },
    ];
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
}
