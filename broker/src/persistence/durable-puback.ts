import type { AedesOptions, Client, PublishPacket } from 'aedes';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

/** The part of a connection stream this needs (net.Socket, tls.TLSSocket, the WebSocket duplex). */
interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
  readonly writableNeedDrain?: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
}

/** How often a PUBLISH held by a nearly full (but not overflowed) buffer looks again. */
export const NEAR_FULL_RETRY_MS = 2;

/** What the broker wraps: the enqueue of a QoS > 0 message into the persistent sessions' queues. */
export interface EnqueueingPersistence {
  outgoingEnqueueCombi(subs: unknown[], packet: unknown): Promise<unknown>;
}

export interface DurablePuback {
  /** Wraps the broker's authorizePublish hook (the hook itself is unchanged). */
  authorizePublish(inner: AuthorizePublish): AuthorizePublish;
  /** Wraps the persistence's enqueue step; returns the same object. */
  wrap<P extends EnqueueingPersistence>(persistence: P): P;
}

/**
 * PUBACK only after the message is in the queue of every matching persistent session
 * (docs/broker.md#persistence).
 *
 * Aedes 1.2 answers a QoS 1 PUBLISH with PUBACK *before* it publishes the message
 * (lib/handlers/publish.js `enqueuePublish`: `write(PubAck)`, then `broker.publish`), and it is
 * `broker.publish` that writes the message into the queues of offline persistent sessions
 * (`enqueueOffline` -> `outgoingEnqueueCombi`). A broker killed in between has acknowledged a
 * message that no persistent session will ever get.
 *
 * Aedes offers no hook between the two, so this holds the PUBACK bytes in the connection instead:
 * when authorizePublish accepts a QoS 1 PUBLISH, the connection is corked (Writable.cork), so the
 * PUBACK Aedes writes next stays in the socket's buffer; when `outgoingEnqueueCombi` has committed
 * that message for every matching session, the connection is uncorked and the PUBACK leaves. The
 * message is recognised by its payload Buffer: aedes-packet copies `payload` by reference into the
 * packet it hands to the persistence, and every parsed PUBLISH has its own Buffer.
 *
 * - Cork counts nest: with several PUBLISHes of one client in flight, their PUBACKs leave together
 *   when the last of them is queued. Aedes reads a client's next chunk only after the current
 *   one's publishes completed, and completion comes after the enqueue, so this cannot starve.
 * - The release depends only on the enqueue (not on deliveries to online subscribers, which may
 *   wait for their sockets to drain), so it cannot deadlock with this connection's own deliveries.
 * - If the connection's buffer is already at its high-water mark, corking would make Aedes wait
 *   for a 'drain' that never comes; the PUBLISH then waits for the drain first (back-pressure).
 *   Node emits 'drain' only after a write overflowed (`writableNeedDrain`); a buffer just under
 *   the mark is looked at again every NEAR_FULL_RETRY_MS instead, until it has room or closes.
 * - If the enqueue fails, the connection stays corked; Aedes closes the client on that error and
 *   the buffered PUBACK is discarded with the socket: the client resends the message.
 * - QoS 2 needs none of this: Aedes sends PUBREC only after `broker.publish` completed.
 */
export function createDurablePuback(): DurablePuback {
  const pending = new WeakMap<object, Corkable>();

  function hold(conn: Corkable, payload: object, go: () => void): void {
    if (conn.destroyed) {
      go();
      return;
    }
    if (conn.writableNeedDrain === true) {
      // A write already overflowed the buffer: Node emits 'drain' once it has emptied.
      const retry = () => {
        conn.removeListener('drain', retry);
        conn.removeListener('close', retry);
        hold(conn, payload, go);
      };
      conn.once('drain', retry);
      conn.once('close', retry);
      return;
    }
    if (conn.writableLength + 64 >= conn.writableHighWaterMark) {
      // Just under the mark, filled by writes that all fitted: no 'drain' is due, and none comes
      // when the buffer empties. Corking now could make the PUBACK write overflow it (then Aedes
      // waits for a 'drain' the cork withholds), so look again shortly: the socket is sending.
      const retry = () => {
        clearTimeout(timer);
        conn.removeListener('close', retry);
        hold(conn, payload, go);
      };
      const timer = setTimeout(retry, NEAR_FULL_RETRY_MS);
      conn.once('close', retry);
      return;
    }
    conn.cork();
    pending.set(payload, conn);
    go();
  }

  /** `queued`: the enqueue committed, the PUBACK may go; otherwise it stays held until Aedes closes the client. */
  function release(packet: unknown, queued: boolean): void {
    const payload = (packet as { payload?: unknown } | null)?.payload;
    if (typeof payload !== 'object' || payload === null) return;
    const conn = pending.get(payload);
    if (!conn) return;
    pending.delete(payload);
    if (queued) conn.uncork();
  }

  return {
    authorizePublish(inner) {
      return (client: Client | null, packet: PublishPacket, done) => {
        inner(client, packet, (err) => {
          if (err || !client || packet.qos !== 1 || typeof packet.payload !== 'object') return done(err);
          const conn = client.conn as unknown as Partial<Corkable>;
          if (typeof conn.cork !== 'function') return done(err);
          hold(conn as Corkable, packet.payload, () => done(err));
        });
      };
    },
    wrap(persistence) {
      const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
      persistence.outgoingEnqueueCombi = async (subs: unknown[], packet: unknown) => {
        try {
          const result = await enqueue(subs, packet);
          release(packet, true);
          return result;
        } catch (err) {
          release(packet, false);
          throw err;
        }
      };
      return persistence;
    },
  };
}
