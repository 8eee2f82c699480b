import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { ID_PATTERN, type SiteLevel } from '@slopeguard/core';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { Alert } from './alerts/alert-store.ts';
import type { CommandRecord } from './commands/command-service.ts';
import type { Principal } from './http/auth.ts';
import { originAllowed } from './http/hosts.ts';
import type { LiveView } from './live-view.ts';
import type { FeedEvent } from './mqtt-feed.ts';
import { LiveBatcher, type Timers } from './realtime-throttle.ts';
import {
  LIVE_EVENT,
  READINGS_EVENT,
  SITE_EVENT,
  SNAPSHOT_EVENT,
  siteRoom,
  WATCH_EVENT,
} from './realtime-wire.ts';
import type { SiteData } from './site-monitor.ts';

/**
 * Pushes validated feed events to browsers (the wire: realtime-wire.ts). A new client gets a
 * snapshot of every site first, then one `live` batch per second at most with what changed on
 * every site (realtime-throttle.ts). A browser with a site's page open joins the site's room and
 * also gets every reading of that site, once a second at most. Batches are broadcasts: socket.io
 * serializes one and writes the same WebSocket frame to every browser of the room.
 */
export interface Realtime {
  readonly io: Server;
  publish(e: FeedEvent): void;
  /** Pushes a control-center event (site-data, alert, command) to every browser. */
  emit(event: string, payload: unknown): void;
  /** Batches sent and the pushes left out (the metrics route and the tests read them). */
  stats(): {
    batches: number;
    readingBatches: number;
    droppedEvents: number;
    droppedReadings: number;
    refusedWatch: number;
  };
  close(): Promise<void>;
}

const ID = new RegExp(ID_PATTERN);
/** A refused `watch` is logged at most this often per server (a hostile browser cannot flood the log). */
const REFUSED_LOG_EVERY_MS = 60_000;

export function startRealtime(
  server: HttpServer,
  view: LiveView,
  logger: Logger,
  allowedHosts: ReadonlySet<string>,
  /** The signed-in session of a handshake (its cookie), or null: only signed-in browsers connect. */
  principalOf: (req: IncomingMessage) => Principal | null,
  /** The push window (default 1 s) and its timers (a fake clock in tests). */
  throttle: { windowMs?: number; timers?: Timers; now?: () => number } = {},
  /** The snapshot a client gets on connecting (default: the live view's sites, without sensors). */
  snapshot: () => unknown[] = () => view.overview(),
): Realtime {
  const io = new Server(server, {
    serveClient: false,
    cors: { origin: false },
    // Same checks as HTTP: an allowed Host, and a browser's Origin must be this server itself
    // (cross-site WebSocket hijacking, DNS rebinding).
    allowRequest: (req, callback) => {
      if (!originAllowed(allowedHosts, req)) return callback('origin', false);
      const signedIn = principalOf(req) !== null;
      callback(signedIn ? null : 'unauthenticated', signedIn);
    },
    // A client sends nothing large; bound what one frame may hold.
    maxHttpBufferSize: 64 * 1024,
    // No per-message deflate (the default, said here on purpose): with it socket.io cannot send one
    // pre-built frame to every browser, and compressing 1,000 sites' batch per browser costs CPU.
    perMessageDeflate: false,
  });
  let refused = 0;
  let refusedLoggedAt = Number.NEGATIVE_INFINITY;
  io.on('connection', (socket) => {
    logger.debug({ id: socket.id }, 'browser connected');
    socket.emit(SNAPSHOT_EVENT, snapshot());
    let watching: string | null = null;
    socket.on(WATCH_EVENT, (site: unknown, ack?: unknown) => {
      // An optional acknowledgement: whether the request was taken (tests wait for it).
      const answer = (ok: boolean) => {
        if (typeof ack === 'function') ack(ok);
      };
      if (site !== null && (typeof site !== 'string' || !ID.test(site))) {
        answer(false);
        refused++;
        const now = Date.now();
        if (now - refusedLoggedAt >= REFUSED_LOG_EVERY_MS) {
          refusedLoggedAt = now;
          logger.warn({ id: socket.id, refused }, 'refused a watch request that is not a site id');
        }
        return;
      }
      if (watching !== null) void socket.leave(siteRoom(watching));
      watching = site;
      if (site !== null) {
        void socket.join(siteRoom(site));
        // The site's sensors now (the snapshot has none); its readings follow in the room.
        const summary = view.summary(site);
        if (summary) socket.emit(SITE_EVENT, summary);
      }
      answer(true);
    });
  });
  let batches = 0;
  let readingBatches = 0;
  const rooms = io.of('/').adapter.rooms;
  const now = throttle.now ?? Date.now;
  const batcher = new LiveBatcher({
    ...throttle,
    keepReadings: (site) => (rooms.get(siteRoom(site))?.size ?? 0) > 0,
    emit: ({ batch, readings }) => {
      batches++;
      io.compress(false).emit(LIVE_EVENT, batch);
      for (const r of readings) {
        readingBatches++;
        io.to(siteRoom(r.site)).compress(false).emit(READINGS_EVENT, r);
      }
    },
  });
  return {
    io,
    emit(event, payload) {
      switch (event) {
        case 'alert':
          return batcher.alert(payload as Alert);
        case 'command':
          return batcher.command(payload as CommandRecord);
        case 'site-data': {
          const p = payload as { site: string; data: SiteData };
          return batcher.data(p.site, p.data);
        }
        default:
          io.compress(false).emit(event, payload);
      }
    },
    publish(e) {
      switch (e.channel) {
        case 'telemetry':
          return batcher.telemetry(e.site, e.gateway, e.message.readings);
        case 'status':
          return batcher.status(e.site, { id: e.gateway, state: e.message.state, at: now() });
        case 'event':
          return batcher.event(e.site, e.gateway, e.message);
        case 'level':
          return batcher.level(e.site, e.message as SiteLevel);
        default:
          // cmd/ack reaches browsers as the command's record (emit('command')), not raw.
          return;
      }
    },
    stats: () => ({
      batches,
      readingBatches,
      droppedEvents: batcher.droppedEvents,
      droppedReadings: batcher.droppedReadings,
      refusedWatch: refused,
    }),
    close() {
      batcher.flushAll();
      return new Promise((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}
