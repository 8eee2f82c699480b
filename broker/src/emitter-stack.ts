import type { Logger } from 'pino';

/**
 * Keeps Aedes' message emitter from overflowing the stack (docs/broker.md#aedes-crash-fix).
 *
 * Aedes routes every PUBLISH through an MQEmitter (mqemitter 7.1; mqemitter-redis in a cluster,
 * which inherits the same code) that lets `concurrency` messages (Aedes' default: 100) be in
 * delivery at once and queues the rest. When a delivery completes, `released` takes the next
 * queued message and starts it (`_do`). A message with no subscriber completes synchronously,
 * inside `_do`, and its `released` starts the next one: a run of N such messages in the queue is
 * a recursion N deep (released -> _do -> fastparallel -> released ...). The queue forms when 100
 * deliveries wait for slow subscribers (the control center busy, a socket buffer full), and a
 * thousand gateways disconnecting at once then queue a thousand `$SYS/.../disconnect/clients`
 * messages that nobody subscribes to: 2,000-3,000 of them overflowed the stack
 * ("Maximum call stack size exceeded", an uncaught RangeError that ends the process).
 * Known upstream as mcollina/mqemitter#204 (open, unmerged).
 *
 * The fix wraps the emitter's `_do` from outside (node_modules untouched): past MAX_DEPTH nested
 * starts, a message and every one after it wait for the next turn of the event loop in a FIFO,
 * which is then worked through in a loop instead of a recursion. Order is kept (a message never
 * overtakes one queued before it: once anything waits, everything after it waits too), and so is
 * the concurrency bound (a waiting message keeps its slot, so later messages still queue behind
 * it in the emitter).
 */

/** Nested message starts allowed on one stack; each costs about three frames. */
export const MAX_DEPTH = 64;

type Do = (this: QueueingEmitter, message: unknown, callback: unknown) => unknown;

/** The MQEmitter internals this relies on (mqemitter 7.x: mqemitter.js `emit`, `_do`, `released`). */
interface QueueingEmitter {
  _do: Do;
  current: number;
  _doing: boolean;
}

function isQueueingEmitter(mq: unknown): mq is QueueingEmitter {
  const m = mq as Partial<QueueingEmitter> | null;
  return typeof m?._do === 'function' && typeof m.current === 'number';
}

/** Installs the guard on `aedes.mq`. Returns false (and logs) if the emitter is not the expected one. */
export function guardEmitterStack(mq: unknown, log: Logger): boolean {
  if (!isQueueingEmitter(mq)) {
    // A future mqemitter may have fixed or renamed this; broker/test/emitter-stack.test.ts says which.
    log.warn('message emitter internals not as expected: stack guard not installed');
    return false;
  }
  const emitter = mq;
  const start = emitter._do;
  const waiting: { message: unknown; callback: unknown }[] = [];
  let depth = 0;
  let scheduled = false;

  function run(message: unknown, callback: unknown): void {
    depth++;
    try {
      start.call(emitter, message, callback);
    } finally {
      depth--;
    }
  }

  function drain(): void {
    scheduled = false;
    // A loop: a message completing synchronously starts the next queued one, which, with
    // `waiting` not empty, is appended here rather than run inside this one.
    for (let next = waiting.shift(); next; next = waiting.shift()) {
      emitter.current--; // given back just before `_do` takes it again
      run(next.message, next.callback);
    }
  }

  emitter._do = function guardedDo(message, callback) {
    if (waiting.length === 0 && depth < MAX_DEPTH) {
      run(message, callback);
      return this;
    }
    // Hold the slot (as `_do` would) so that the emitter queues later messages behind this one.
    emitter.current++;
    emitter._doing = true;
    waiting.push({ message, callback });
    if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
    return this;
  };
  return true;
}
