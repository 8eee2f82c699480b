// aedes-persistence-level ships no type declarations; this is the part the broker uses.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  export default class AsyncLevelPersistence {
    constructor(db: unknown);
    setup(broker: unknown): Promise<void>;
    outgoingEnqueueCombi(subs: unknown[], packet: unknown): Promise<unknown>;
    destroy(): Promise<void>;
  }
}
