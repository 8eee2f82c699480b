// aedes-persistence-redis ships no type declarations; this is the part the broker uses.
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  export default class AsyncRedisPersistence {
    constructor(options: { conn?: unknown; maxSessionDelivery?: number });
    setup(broker: unknown): Promise<void>;
    outgoingEnqueueCombi(subs: unknown[], packet: unknown): Promise<unknown>;
    destroy(): Promise<void>;
  }
}
