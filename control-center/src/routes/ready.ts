import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type ReadingStore, StoreTimeout, withTimeout } from '../store/reading-store.ts';
import { storeFailureLog } from './readings.ts';

const Check = Type.Object({
  ok: Type.Boolean(),
  detail: Type.Optional(Type.String({ description: 'why not, in a few words (no addresses, no secrets)' })),
});
const Ready = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Object({ store: Check, broker: Check }),
  error: Type.Optional(Type.Literal('SG_ERR_UNAVAILABLE')),
  message: Type.Optional(Type.String()),
});
type Ready = Static<typeof Ready>;
type Check = Static<typeof Check>;

/** A site id no site can have (ids start with a letter or digit): the store probe matches nothing. */
const PROBE = '-readyz';

export interface ReadyOptions {
  store: () => ReadingStore | undefined;
  /** Whether the control center's MQTT client is connected to the broker now. */
  brokerConnected: () => boolean;
  now: () => number;
  logger: Logger;
  /** How long the store probe may take (default 2 s): a probe that hangs is a store that is down. */
  timeoutMs?: number;
}

/**
 * GET /readyz: 200 when the readings store answers a query and the control center is connected to
 * the broker, else 503 naming which is not. Open to anyone (load balancers, systemd, Kubernetes);
 * it says which part is down but never why in detail (that is logged).
 */
export function registerReadyRoute(app: FastifyInstance, o: ReadyOptions): void {
  const failed = storeFailureLog(o.logger, o.now);
  const storeCheck = async (): Promise<Check> => {
    const store = o.store();
    if (!store) return { ok: true, detail: 'no readings store configured' };
    const t = o.now();
    try {
      await withTimeout(
        store.range({ site: PROBE, sensor: PROBE, from: t, to: t, stepMs: 1 }),
        o.timeoutMs ?? 2000,
      );
      return { ok: true };
    } catch (err) {
      failed(err, 'readyz probe');
      return { ok: false, detail: err instanceof StoreTimeout ? 'no answer in time' : 'unreachable' };
    }
  };
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the readings store and the MQTT broker are reachable',
        security: [],
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply): Promise<Ready> => {
      const store = await storeCheck();
      const broker: Check = o.brokerConnected() ? { ok: true } : { ok: false, detail: 'not connected' };
      if (store.ok && broker.ok) return { ready: true, checks: { store, broker } };
      const down = [store.ok ? '' : 'store', broker.ok ? '' : 'broker'].filter((s) => s !== '');
      reply.code(503);
      return {
        ready: false,
        checks: { store, broker },
        error: 'SG_ERR_UNAVAILABLE',
        message: `not ready: ${down.join(' and ')} unreachable`,
      };
    },
  );
}
