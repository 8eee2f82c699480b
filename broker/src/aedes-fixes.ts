import { Readable } from 'node:stream';
import type { Aedes, AedesOptions, Client } from 'aedes';
import type { Logger } from 'pino';

/**
 * Two MQTT 3.1.1 defects of Aedes 1.2.0, fixed from outside (no change to node_modules, so an
 * `npm ci` cannot undo them; docs/broker.md#aedes-protocol-fixes). Each is tested by
 * broker/test/aedes-fixes.test.ts against the clause it breaks, and each stops being needed once
 * Aedes fixes it upstream (the tests then still pass, and this file can go).
 *
 * 1. DUP on redelivery [MQTT-3.3.1-1] (upstream moscajs/aedes#601): when a persistent session
 *    reconnects, Aedes resends the QoS > 0 messages it had sent but not seen acknowledged
 *    (lib/handlers/connect.js `emptyQueue`) with the DUP flag still 0. A queued message that was
 *    already sent is the one with a packet identifier (Aedes assigns it when it first sends,
 *    `outgoingUpdate`); messages queued while the client was away have none and go out with
 *    DUP 0, which is right: it is their first delivery. The persistence's `outgoingStream` is
 *    wrapped to set `dup` on the first kind.
 *
 * 2. Session Present for an existing session without subscriptions [MQTT-3.2.2-2]: Aedes sets it
 *    from "has stored subscriptions" (lib/handlers/connect.js `restoreSubs`), so a clean=false
 *    client that never subscribed (a gateway that only publishes) is told its session is new at
 *    every reconnect. The broker records which client ids have a session (`SessionMarks`: added
 *    when a clean=false connection is accepted, removed when a clean=true one discards the
 *    session). For a marked id with no stored subscriptions, `subscriptionsByClient` answers one
 *    placeholder subscription, which makes Aedes set Session Present 1; the authorizeSubscribe
 *    wrapper refuses the placeholder (Aedes then restores nothing for it, as for any refused
 *    subscription, and sends no SUBACK: restored subscriptions are not acknowledged).
 *
 * A third, message order [MQTT-4.6.0-6] (Aedes continues each PUBLISH in the order authorizePublish
 * calls back, not the order received), is fixed by its own wrapper: publish-order.ts.
 */

export interface SessionMarks {
  has(clientId: string): Promise<boolean>;
  add(clientId: string): Promise<void>;
  delete(clientId: string): Promise<void>;
}

/** Session marks for `persistence: memory` (they end with the process, like its sessions). */
export function memorySessionMarks(): SessionMarks {
  const ids = new Set<string>();
  return {
    has: async (id) => ids.has(id),
    add: async (id) => {
      ids.add(id);
    },
    delete: async (id) => {
      ids.delete(id);
    },
  };
}

type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;

/** The persistence methods the fixes wrap (aedes-persistence and aedes-persistence-level both have them). */
interface WrappedPersistence {
  outgoingStream(client: { id: string }): Readable;
  subscriptionsByClient(client: { id: string }): Promise<{ topic: string; qos: number }[] | null>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
}

export interface AedesFixes {
  /** Wraps the broker's authorizeSubscribe hook (refuses only the placeholder of fix 2). */
  authorizeSubscribe(inner: AuthorizeSubscribe): AuthorizeSubscribe;
  /** Wraps `aedes.persistence` (after `Aedes.createBroker`, which sets it up) and listens for CONNACKs. */
  install(aedes: Aedes): void;
}

/** A topic nobody may subscribe to: `$` topics are the server's [MQTT-4.7.2-1]. */
const PLACEHOLDER_TOPIC = '$SG/session-present';

export function createAedesFixes(marks: SessionMarks, log: Logger): AedesFixes {
  const placeholders = new WeakSet<object>();

  return {
    authorizeSubscribe(inner) {
      return (client, sub, done) => {
        if (placeholders.has(sub)) return done(null, null);
        inner(client, sub, done);
      };
    },

    install(aedes) {
      const persistence = (aedes as unknown as { persistence: WrappedPersistence }).persistence;

      const stream = persistence.outgoingStream.bind(persistence);
      persistence.outgoingStream = (client) =>
        Readable.from(
          (async function* () {
            for await (const packet of stream(client) as AsyncIterable<{ messageId?: number | null }>) {
              yield packet.messageId ? { ...packet, dup: true } : packet;
            }
          })(),
        );

      const byClient = persistence.subscriptionsByClient.bind(persistence);
      persistence.subscriptionsByClient = async (client) => {
        const subs = await byClient(client);
        if ((subs && subs.length > 0) || !(await marks.has(client.id))) return subs;
        const placeholder = { topic: PLACEHOLDER_TOPIC, qos: 0 };
        placeholders.add(placeholder);
        return [placeholder];
      };

      const clean = persistence.cleanSubscriptions.bind(persistence);
      persistence.cleanSubscriptions = async (client) => {
        // [MQTT-3.1.2-6]: a clean=true connection discards the previous session.
        await marks.delete(client.id);
        return clean(client);
      };

      aedes.on('connackSent', (packet: { returnCode?: number }, client: Client) => {
        if (packet.returnCode !== 0 || client.clean) return;
        marks.add(client.id).catch((err: unknown) => {
          // The session still works; only the next CONNACK may say Session Present 0.
          log.error({ err, clientId: client.id }, 'could not record the session');
        });
      });
    },
  };
}
