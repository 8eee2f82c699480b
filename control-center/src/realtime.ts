import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { Principal } from './http/auth.ts';
import { originAllowed } from './http/hosts.ts';
import type { LiveView } from './live-view.ts';
import type { FeedEvent } from './mqtt-feed.ts';
import { SiteThrottle, type Timers } from './realtime-throttle.ts';

/**
 * Pushes validated feed events to browsers. A new client gets a snapshot of every site first, then
 * the live stream. Event names are the contract's channel names. Everything about a site goes
 * through the site's throttle (realtime-throttle.ts): at most one flush per site per second.
 */
export interface Realtime {
  readonly io: Server;
  publish(e: FeedEvent): void;
  /** Pushes a control-center event (site-data, alert, command) to every browser. */
  emit(event: string, payload: unknown): void;
  close(): Promise<void>;
}

export function startRealtime(
  server: HttpServer,
  view: LiveView,
  logger: Logger,
  allowedHosts: ReadonlySet<string>,
  /** The signed-in session of a handshake (its cookie), or null: only signed-in browsers connect. */
  principalOf: (req: IncomingMessage) => Principal | null,
  /** The per-site push window (default 1 s) and its timers (a fake clock in tests). */
  throttle: { windowMs?: number; timers?: Timers } = {},
  /** The snapshot a client gets on connecting (default: the live view's list). */
  snapshot: () => unknown[] = () => view.list(),
): Realtime {
  const io = new Server(server, {
    serveClient: false,
    cors: { origin: false },
    // Same checks as HTTP: an allowed Host, and a browser's Origin must be this server itself
    // (cross-site WebSocket hijacking, DNS rebinding).
    allowRequest: (req, callback) => {
      if (!originAllowed(allowedHosts, req)) return callback('origin', false);
      callback(principalOf(req) ? null : 'unauthenticated', principalOf(req) !== null);
    },
    // A client sends nothing large; bound what one frame may hold.
    maxHttpBufferSize: 64 * 1024,
  });
  io.on('connection', (socket) => {
    logger.debug({ id: socket.id }, 'browser connected');
    socket.emit('snapshot', snapshot());
  });
  const sites = new SiteThrottle({
    ...throttle,
    emit: (_site, pushes) => {
      for (const p of pushes) io.emit(p.event, p.payload);
    },
  });
  return {
    io,
    emit(event, payload) {
      const site = (payload as { site?: unknown } | null)?.site;
      if (typeof site === 'string') sites.push(site, event, payload);
      else io.emit(event, payload);
    },
    publish(e) {
      const { channel, ...rest } = e;
      sites.push(e.site, channel, rest);
    },
    close() {
      sites.flushAll();
      return new Promise((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}
