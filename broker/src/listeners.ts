import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { BrokerError } from './errors.ts';

export interface TcpListenerOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
}

export interface TlsListenerOptions extends TcpListenerOptions {
  /** PEM files (see `slopeguard certs`). */
  certFile: string;
  keyFile: string;
  /** CA bundle to verify client certificates against. */
  caFile?: string;
  /** Require a client certificate signed by `caFile` in addition to username and password. */
  requireClientCert?: boolean;
}

export interface WsListenerOptions extends TcpListenerOptions {
  /** URL path of the endpoint; default `/mqtt`. */
  path?: string;
}

/**
 * What the transport proved about the peer. `certSubject`: the subject CN of a client certificate
 * the TLS listener required and verified; the broker then admits only the account of that name.
 */
export interface PeerIdentity {
  certSubject?: string;
}

export type Handle = (stream: Duplex, req?: IncomingMessage, identity?: PeerIdentity) => void;

export interface Listener {
  kind: 'mqtt' | 'mqtts' | 'ws';
  port: number;
  /** Stops accepting new connections; open ones stay. */
  stopAccepting(): void;
  /** Closes the listener and destroys its open connections. */
  close(): Promise<void>;
}

async function listen(server: Server, host: string, port: number, kind: string): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new BrokerError('SG_ERR_BROKER_CONFIG', `${kind} listener has no TCP address`);
  }
  return address.port;
}

/** Closes a server and destroys its open connections (Aedes closes its clients separately). */
function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      // The callback also runs (with ERR_SERVER_NOT_RUNNING) if stopAccepting() closed it already.
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

export async function listenTcp(o: TcpListenerOptions, handle: Handle): Promise<Listener> {
  const server = createNetServer((socket) => handle(socket));
  const sockets = track(server);
  const port = await listen(server, o.host, o.port, 'MQTT');
  return { kind: 'mqtt', port, stopAccepting: () => server.close(), close: closer(server, sockets) };
}

export async function listenTls(o: TlsListenerOptions, handle: Handle): Promise<Listener> {
  let key: Buffer;
  let cert: Buffer;
  let ca: Buffer | undefined;
  try {
    key = readFileSync(o.keyFile);
    cert = readFileSync(o.certFile);
    ca = o.caFile ? readFileSync(o.caFile) : undefined;
  } catch (err) {
    throw new BrokerError('SG_ERR_BROKER_CONFIG', `TLS files unreadable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const server = createTlsServer(
    {
      key,
      cert,
      ca,
      minVersion: 'TLSv1.2',
      requestCert: o.requireClientCert ?? false,
      rejectUnauthorized: o.requireClientCert ?? false,
    },
    (socket) => {
      if (!o.requireClientCert) return handle(socket);
      // The chain was verified in the handshake (rejectUnauthorized); the CN names the account.
      const cn = socket.getPeerCertificate().subject?.CN;
      handle(socket, undefined, { certSubject: Array.isArray(cn) ? cn.join(',') : (cn ?? '') });
    },
  );
  // A failed handshake is the peer's problem; it must not reach the process as an unhandled error.
  server.on('tlsClientError', () => {});
  const sockets = new Set<Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = await listen(server, o.host, o.port, 'MQTT/TLS');
  return { kind: 'mqtts', port, stopAccepting: () => server.close(), close: closer(server, sockets) };
}

/** MQTT over WebSocket: each connection becomes a duplex byte stream handed to Aedes. */
/**
 * `maxPayload`: largest WebSocket message accepted, bytes. The broker sets it to its MQTT packet
 * limit (plus the fixed header), so that a peer cannot make `ws` buffer up to its own default of
 * 100 MiB before the MQTT parser sees a byte; `ws` closes such a connection with code 1009.
 */
export async function listenWs(
  o: WsListenerOptions,
  handle: Handle,
  maxPayload = 256 * 1024 + 5,
): Promise<Listener> {
  const http = createHttpServer((_req, res) => {
    res.writeHead(404).end();
  });
  const sockets = track(http);
  // The MQTT over WebSocket binding requires the `mqtt` subprotocol (MQTT 3.1.1 section 6).
  const wss = new WebSocketServer({
    server: http,
    path: o.path ?? '/mqtt',
    maxPayload,
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
  });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => stream.destroy());
    handle(stream, req);
  });
  const port = await listen(http, o.host, o.port, 'MQTT/WebSocket');
  return {
    kind: 'ws',
    port,
    stopAccepting: () => http.close(),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closer(http, sockets)();
    },
  };
}
