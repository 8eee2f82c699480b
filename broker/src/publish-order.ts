import type { AedesOptions, Client } from 'aedes';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;
type Done = Parameters<AuthorizePublish>[2];

/** The part of a connection stream this looks at (net.Socket, tls.TLSSocket, the WebSocket duplex). */
interface Conn {
  readonly destroyed: boolean;
  readonly writableNeedDrain?: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
}

interface Entry {
  done: Done;
  finished: boolean;
  err: Error | null | undefined;
}

interface ClientQueue {
  entries: Entry[];
  /** A message handed on may wait for the connection's 'drain' (in Aedes or durable-puback.ts): so do the next. */
  waiting: boolean;
}

/**
 * One client's PUBLISHes go on in the order they were received: MQTT 3.1.1 [MQTT-4.6.0-6] (a
 * server sends the PUBLISHes of one topic to its subscribers in the order it received them from
 * a client) and the PUBACK order of [MQTT-4.6.0-2]. docs/broker.md#message-order.
 *
 * Aedes 1.2 handles every packet of one socket read at once (lib/client.js `enqueue`) and, for each
 * PUBLISH, writes the PUBACK and publishes the message as soon as `authorizePublish` calls back
 * (lib/handlers/publish.js). So the order in which the hook calls back IS the order subscribers
 * get, and the broker's hook calls back when the recorder has stored the readings: a message with
 * nothing to store (all its readings refused, or not telemetry) calls back at once and overtakes
 * the telemetry before it that waits for its group commit; with several store writes in flight
 * (InfluxDB), a later batch may commit first; a message held by the rate limit waits on a timer
 * while a later one may not.
 *
 * This wrapper leaves the hook's work as concurrent as it was (every message of a read is
 * validated and handed to the recorder at once, so group commit still sees them all) and only
 * hands the results to Aedes in arrival order, per client: a message that completes early waits
 * for the ones received before it from the same client, and no longer. Other clients have queues
 * of their own; Aedes already reads a client's next chunk only after all of the current one's
 * PUBLISHes are done, so the wait adds nothing a client did not already wait for.
 *
 * - Aedes writes the PUBACK right after the callback and publishes when the write callback runs:
 *   on the next turn (setImmediate) normally, but after the connection's 'drain' when the write
 *   found the buffer full (lib/write.js); durable-puback.ts also waits for 'drain' then. A later
 *   PUBACK written once the buffer emptied a little (no 'drain' yet) would overtake it. So when a
 *   message handed on left the connection waiting for 'drain' (`writableNeedDrain`), the next
 *   ones wait for that 'drain' (or 'close') too; otherwise nothing waits, as without this wrapper.
 * - A publish for a client that Aedes already closed is its will (lib/client.js `close`): it
 *   passes straight through. The client's PUBLISHes still queued are never published (Aedes
 *   refuses to write their PUBACKs on a closed connection, and does not publish them; the client
 *   resends them), so nothing of that client can come after its will.
 * - Publishes of the broker itself (no client) pass straight through.
 * - Must be the innermost wrapper of the hook (inside durable-puback.ts): that one corks the
 *   connection for a message it lets through, and a message corked while an earlier one still
 *   waited here could keep the 'drain' that earlier one needs from ever coming.
 */
export function orderPublishes(inner: AuthorizePublish): AuthorizePublish {
  const queues = new WeakMap<Client, ClientQueue>();

  function flush(client: Client, queue: ClientQueue): void {
    const conn = client.conn as unknown as Partial<Conn>;
    while (!queue.waiting && queue.entries[0]?.finished) {
      const head = queue.entries.shift() as Entry;
      head.done(head.err);
      // Aedes (or durable-puback.ts) has now written this PUBACK, or decided to wait for 'drain'.
      // A write that found the buffer full set `writableNeedDrain`, and 'drain' is then sure to
      // come (or 'close'). Only that is waited for: a buffer that is merely high sends no 'drain'.
      if (!conn.destroyed && conn.writableNeedDrain === true && typeof conn.once === 'function') {
        queue.waiting = true;
        const resume = () => {
          conn.removeListener?.('drain', resume);
          conn.removeListener?.('close', resume);
          queue.waiting = false;
          flush(client, queue);
        };
        conn.once('drain', resume);
        conn.once('close', resume);
      }
    }
  }

  return (client, packet, done) => {
    if (!client || client.closed) return inner(client, packet, done);
    let queue = queues.get(client);
    if (!queue) {
      queue = { entries: [], waiting: false };
      queues.set(client, queue);
    }
    const entry: Entry = { done, finished: false, err: undefined };
    queue.entries.push(entry);
    const q = queue;
    const finish = (err: Error | null | undefined) => {
      if (entry.finished) return; // a second callback for the same message is not Aedes' to see
      entry.finished = true;
      entry.err = err;
      flush(client, q);
    };
    try {
      inner(client, packet, finish);
    } catch (err) {
      // Unanswered, this message would hold the client's later ones for good; as an error, Aedes
      // closes the client (as it did when the throw reached it) and the client resends.
      finish(err instanceof Error ? err : new Error(String(err)));
    }
  };
}
