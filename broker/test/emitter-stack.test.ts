import { gatewayFilter, gatewayTopic } from '@slopeguard/core';
import { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guardEmitterStack, MAX_DEPTH } from '../src/emitter-stack.ts';
import { type BrokerService, openSqliteStore, type Store, startBroker } from '../src/index.ts';
import { connect, silent, telemetry, tempDir, tilt, until } from './helpers.ts';

/**
 * Aedes' message emitter (mqemitter 7.1) started the next queued message from inside the one that
 * just completed, so a long run of queued messages without subscribers was a recursion as deep as
 * the run: 1,000 gateways disconnecting at once behind a busy control center overflowed the stack
 * and ended the broker process (broker/src/emitter-stack.ts). These tests crash the test process
 * (an uncaught RangeError, which vitest reports as a failure) without the guard: checked by
 * removing the guardEmitterStack call from broker.ts.
 */
describe('message emitter: no stack overflow when many queued messages complete at once', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let broker: BrokerService;

  beforeEach(async () => {
    tmp = tempDir();
    store = openSqliteStore(`${tmp.dir}/readings.sqlite`);
    broker = await startBroker({
      mqtt: { host: '127.0.0.1', port: 0 },
      store,
      logger: silent,
      allowAnonymous: true,
      clockIntervalMs: 0,
    });
  });
  afterEach(async () => {
    await broker.close();
    await store.close();
    tmp.cleanup();
  });

  it('2,000 gateways whose sockets are destroyed at once while the control center is behind', async () => {
    const N = 2000;
    // The control center, subscribed to every status, stops reading: its deliveries wait, so the
    // emitter's 100 slots stay taken and everything after them queues.
    const center = await connect(broker.port, { clientId: 'control-center' });
    const statuses = new Set<string>();
    center.on('message', (topic) => statuses.add(topic));
    await center.subscribeAsync(gatewayFilter('status'), { qos: 1 });
    const gateways: MqttClient[] = [];
    for (let i = 0; i < N; i += 100) {
      gateways.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(100, N - i) }, (_, k) =>
            connect(broker.port, { clientId: `site${i + k}.gw` }, 30_000),
          ),
        )),
      );
    }
    // Each gateway listens for its commands (so its disconnection also unsubscribes).
    await Promise.all(
      gateways.map((g, i) => g.subscribeAsync(gatewayTopic(`site${i}`, 'gw', 'cmd'), { qos: 1 })),
    );
    center.stream.pause();
    await Promise.all(
      gateways.map((g, i) =>
        g.publishAsync(
          gatewayTopic(`site${i}`, 'gw', 'status'),
          JSON.stringify({ state: 'online', ts: Date.now(), uptimeS: 1 }),
          { qos: 1 },
        ),
      ),
    );
    // Every socket at once, without DISCONNECT: each closing client queues a $SYS unsubscribe and
    // a $SYS disconnect message that no one subscribes to, behind the statuses.
    for (const g of gateways) g.stream.destroy();
    await until(() => broker.aedes.connectedClients === 1, 30_000);
    center.stream.resume();
    // Every status still reaches the control center, and the broker serves new clients.
    await until(() => statuses.size === N, 60_000);
    const late = await connect(broker.port, { clientId: 'late.gw' });
    await late.publishAsync(
      gatewayTopic('late', 'gw', 'telemetry'),
      JSON.stringify(telemetry(0, [tilt('t1', Date.now())])),
      { qos: 1 },
    );
    expect(await store.count()).toBe(1);
    await late.endAsync();
    await center.endAsync();
  }, 120_000);

  it('20,000 queued messages without subscribers after 100 slow deliveries', async () => {
    const center = await connect(broker.port, { clientId: 'slow' });
    let got = 0;
    center.on('message', () => got++);
    await center.subscribeAsync('bench/held', { qos: 0 });
    const publish = (topic: string, done: () => void) =>
      broker.aedes.publish(
        { cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false },
        done,
      );
    const order: number[] = [];
    for (let i = 0; i < 100; i++) publish('bench/held', () => {});
    for (let i = 0; i < 20_000; i++) publish('bench/nobody', () => order.push(i));
    await until(() => order.length === 20_000 && got === 100, 30_000);
    // In the order they were published: the guard defers, it never reorders.
    expect(order.every((v, i) => v === i)).toBe(true);
    await center.endAsync();
  });
});

interface MQEmitter {
  on(topic: string, notify: (message: unknown, done: () => void) => void): void;
  emit(message: { topic: string }, done?: () => void): void;
}

describe('guardEmitterStack on a bare emitter', () => {
  it('bounds the nesting and keeps the slots (emitter concurrency) while messages wait', async () => {
    // Aedes' own emitter, with 2 slots.
    const aedes = await Aedes.createBroker({ concurrency: 2 });
    const mq = (aedes as unknown as { mq: MQEmitter }).mq;
    expect(guardEmitterStack(mq, silent)).toBe(true);
    let deepest = 0;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = Number.POSITIVE_INFINITY;
    const stackDepth = () => (new Error().stack ?? '').split('\n').length;
    const held: (() => void)[] = [];
    mq.on('held', (_m: unknown, cb: () => void) => held.push(cb));
    const done: number[] = [];
    mq.emit({ topic: 'held' });
    mq.emit({ topic: 'held' });
    for (let i = 0; i < 5 * MAX_DEPTH; i++) {
      mq.emit({ topic: 'nobody' }, () => {
        done.push(i);
        deepest = Math.max(deepest, stackDepth());
      });
    }
    expect(done).toEqual([]); // both slots taken: queued
    held.shift()?.();
    // The run was cut after MAX_DEPTH starts; the rest continue on the next turn, in order.
    expect(done.length).toBeLessThanOrEqual(MAX_DEPTH);
    await until(() => done.length === 5 * MAX_DEPTH);
    expect(done).toEqual(Array.from({ length: 5 * MAX_DEPTH }, (_, i) => i));
    Error.stackTraceLimit = limit;
    expect(deepest).toBeLessThan(10 * MAX_DEPTH);
    held.shift()?.();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  });

  it('refuses an emitter it does not know, with a log line', () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => lines.push(s) });
    expect(guardEmitterStack({ emit() {} }, log)).toBe(false);
    expect(lines.join('')).toContain('stack guard not installed');
  });
});
