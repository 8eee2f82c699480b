/**
 * The live connection and the "not live" banner. socket.io alone notices a silently dropped
 * network only after the server's ping interval plus timeout (45 s by default), far too late at
 * 3 a.m. in a storm; so the page also probes /healthz every 2 s with a 2 s timeout. The page is
 * live only when the socket is connected AND the last probe answered: a cut shows within ~4 s.
 * Both recover by themselves (socket.io reconnects with a backoff capped at 2 s).
 */
import {
  LIVE_EVENT,
  type LiveBatch,
  READINGS_EVENT,
  SITE_EVENT,
  type SiteReadings,
  SNAPSHOT_EVENT,
  type SnapshotSite,
  WATCH_EVENT,
} from '@slopeguard/control-center/realtime-wire.ts';
import { io, type Socket } from 'socket.io-client';
import {
  applyBatch,
  applyReadings,
  applySite,
  applySnapshot,
  onWatch,
  type SiteSummary,
  watchedSite,
} from './state.ts';

const PROBE_EVERY_MS = 2000;
const PROBE_TIMEOUT_MS = 2000;

export interface Live {
  readonly socket: Socket;
  start(): void;
  /** Signed out or refused: no socket and no probe until start() again. */
  stop(): void;
  isLive(): boolean;
}

export function createLive(
  onState: (live: boolean) => void,
  onRefused: () => void,
  /** An alert changed somewhere (the inbox reloads if it is open). */
  onAlerts: () => void = () => undefined,
): Live {
  const socket = io({
    transports: ['websocket'],
    autoConnect: false,
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
  });
  // The wire (control-center/src/realtime-wire.ts): a snapshot on every (re)connection, then one
  // batch a second for every site, and the open site's readings from its room on the server.
  socket.on(SNAPSHOT_EVENT, (list: SnapshotSite[]) => {
    // For the bench (bench/dashboard.bench.ts): when the data arrived, apart from the page's own work.
    if (performance.getEntriesByName('sg:snapshot').length === 0) performance.mark('sg:snapshot');
    applySnapshot(list);
  });
  socket.on(LIVE_EVENT, (b: LiveBatch) => {
    if (applyBatch(b).alerts) onAlerts();
  });
  socket.on(READINGS_EVENT, (r: SiteReadings) => applyReadings(r));
  socket.on(SITE_EVENT, (s: SiteSummary) => {
    if (s.id === watchedSite()) applySite(s);
  });
  // Rooms do not survive a reconnection: ask again for the open site on every connect.
  socket.on('connect', () => {
    const site = watchedSite();
    if (site !== null) socket.emit(WATCH_EVENT, site);
  });
  onWatch((site) => {
    if (socket.connected) socket.emit(WATCH_EVENT, site);
  });
  let probeOk = true;
  let last: boolean | null = null;
  const update = () => {
    const now = socket.connected && probeOk;
    if (now !== last) {
      last = now;
      onState(now);
    }
  };
  socket.on('connect', update);
  socket.on('disconnect', update);
  socket.on('connect_error', () => {
    update();
    // The server refuses a handshake without a valid session (expired, signed out, disabled).
    void fetch('/api/v1/session').then(
      (res) => {
        if (res.status === 401) onRefused();
      },
      () => undefined,
    );
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  const probe = async () => {
    const wasOk = probeOk;
    const ctl = new AbortController();
    const abort = setTimeout(() => ctl.abort(), PROBE_TIMEOUT_MS);
    try {
      const res = await fetch('/healthz', { cache: 'no-store', signal: ctl.signal });
      probeOk = res.ok;
    } catch {
      probeOk = false;
    } finally {
      clearTimeout(abort);
    }
    // After a cut the socket may still believe it is connected; force a fresh one once the
    // server answers again, so no event is silently missed (the snapshot re-syncs the page).
    if (probeOk && !wasOk && socket.connected) socket.disconnect().connect();
    else if (probeOk && !socket.connected && !socket.active) socket.connect();
    update();
  };
  window.addEventListener('offline', () => {
    probeOk = false;
    update();
  });
  return {
    socket,
    start() {
      // Once: the page starts the socket while the session is checked and again when it is
      // confirmed; a second connect() on a handshake in progress sent a second CONNECT, so the
      // server built, sent and the page parsed every snapshot twice.
      if (!socket.active) socket.connect();
      if (!timer) timer = setInterval(() => void probe(), PROBE_EVERY_MS);
      void probe();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      socket.disconnect();
    },
    isLive: () => last === true,
  };
}
