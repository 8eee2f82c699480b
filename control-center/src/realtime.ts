import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { Principal } from './http/auth.ts';
import { originAllowed } from './http/hosts.ts';
import type { LiveView } from './live-view.ts';
import type { FeedEvent } from './mqtt-feed.ts';

/**
 * Pushes validated feed events to browsers. A new client gets a snapshot of every site first, then
 * the live stream. Event names are the contract's channel names.
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
    socket.emit('snapshot', view.list());
  });
  return {
    io,
    emit(event, payload) {
      io.emit(event, payload);
    },
    publish(e) {
      const { channel, ...rest } = e;
      io.emit(channel, rest);
    },
    close() {
      return new Promise((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}
