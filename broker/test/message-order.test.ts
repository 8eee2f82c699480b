import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store, StoredReading } from '../src/index.ts';
import { orderPublishes } from '../src/publish-order.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, tempDir, until } from './helpers.ts';

/**
 * MQTT 3.1.1 section 4.6, Message ordering. A server treats every topic as an Ordered Topic by
 * default [MQTT-4.6.0-5] and "MUST send PUBLISH packets to consumers (for the same Topic and QoS)
 * in the order that they were received from any given Client" [MQTT-4.6.0-6]; the rules listed
 * above it, which the server follows for each subscriber, include sending PUBACKs in the order
 * the PUBLISHes were received [MQTT-4.6.0-2]. docs/broker.md#message-order.
 *
 * One real MQTT.js publisher sends N QoS 1 messages on one topic as fast as it can (all at once,
 * like a gateway flushing its queue), each carrying its sequence number. Three QoS 1 subscribers
 * check the order: a clean session, a persistent session that stays online, and a persistent
 * session that is offline while the messages are published and gets them from its queue. The
 * publisher checks the order of its PUBACKs.
 */

const N = 2000;
const SITE = 'ord';
const GATEWAY = 'gw-1';
const TOPIC = `slopeguard/v1/${SITE}/${GATEWAY}/telemetry`;
const BASE = Date.now() - 10 * 86_400_000;

interface Mix {
  /** Every 50th message carries 1,000 readings (~80 kB: slow to validate, several TCP reads). */
  large: boolean;
  /** Every 37th message has only a reading an hour ahead of the broker's clock (refused: nothing to store). */
  future: boolean;
}

function payloadOf(i: number, mix: Mix): Buffer {
  const reading = (sensor: string, ts: number) => ({ sensor, kind: 'tilt', ts, values: { x: i, y: 0.5 } });
  let readings: unknown[];
  if (mix.large && i % 50 === 25) {
    readings = Array.from({ length: 1000 }, (_, k) =>
      reading(`p${k % 10}`, BASE + i * 1000 + Math.floor(k / 10)),
    );
  } else if (mix.future && i % 37 === 36) {
    readings = [reading('p0', Date.now() + 3_600_000)];
  } else {
    readings = [reading('p0', BASE + i * 1000 + 500)];
  }
  return Buffer.from(JSON.stringify({ seq: i, readings }));
}

interface OrderResult {
  /** seq numbers in the order each subscriber received them. */
  clean: number[];
  persistent: number[];
  queued: number[];
  /** seq numbers in the order their PUBACKs reached the publisher. */
  pubacks: number[];
}

/** Messages received out of order: each one whose seq is below the highest received before it. */
function inversions(seqs: readonly number[]): number {
  let max = -1;
  let n = 0;
  for (const s of seqs) {
    if (s < max) n++;
    else max = s;
  }
  return n;
}

const seqOf = (payload: Buffer) => (JSON.parse(payload.toString()) as { seq: number }).seq;

/** Resolves when `n` messages came; the listener is on before CONNACK (queued messages come with it). */
function collecting(port: number, opts: IClientOptions, into: number[], n: number) {
  const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...opts });
  const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const all = new Promise<void>((resolve) => {
    client.on('message', (_topic, payload) => {
      into.push(seqOf(payload));
      if (into.length === n) resolve();
    });
  });
  return { client, connected, all };
}

async function runOrder(port: number, mix: Mix, tag: string, n = N): Promise<OrderResult> {
  const result: OrderResult = { clean: [], persistent: [], queued: [], pubacks: [] };
  const queuedOpts = { clientId: `control-center-${tag}q`, clean: false };
  // The offline subscriber registers its session, then goes away.
  const q0 = await connect(port, queuedOpts);
  await q0.subscribeAsync(TOPIC, { qos: 1 });
  await q0.endAsync();
  const clean = collecting(port, { clientId: `control-center-${tag}c`, clean: true }, result.clean, n);
  const persistent = collecting(
    port,
    { clientId: `control-center-${tag}p`, clean: false },
    result.persistent,
    n,
  );
  for (const s of [clean, persistent]) {
    await s.connected;
    await s.client.subscribeAsync(TOPIC, { qos: 1 });
  }

  const pub = await connect(port, { clientId: `${SITE}.${GATEWAY}`, clean: false });
  const seqOfId = new Map<number, number>();
  pub.on('packetsend', (p) => {
    if (p.cmd === 'publish' && p.messageId !== undefined)
      seqOfId.set(p.messageId, seqOf(p.payload as Buffer));
  });
  pub.on('packetreceive', (p) => {
    if (p.cmd === 'puback' && p.messageId !== undefined) result.pubacks.push(seqOfId.get(p.messageId) ?? -1);
  });
  await Promise.all(
    Array.from({ length: n }, (_, i) => pub.publishAsync(TOPIC, payloadOf(i, mix), { qos: 1 })),
  );
  await Promise.all([clean.all, persistent.all]);
  const queued = collecting(port, queuedOpts, result.queued, n);
  await queued.all;
  for (const c of [pub, clean.client, persistent.client, queued.client]) await c.endAsync();
  return result;
}

function expectInOrder(r: OrderResult, n = N): void {
  const all = Array.from({ length: n }, (_, i) => i);
  // Every message exactly once (no reconnects, so no duplicates either), then: in order.
  expect([...r.clean].sort((a, b) => a - b)).toEqual(all);
  expect([...r.queued].sort((a, b) => a - b)).toEqual(all);
  expect({
    clean: inversions(r.clean),
    persistent: inversions(r.persistent),
    queued: inversions(r.queued),
    pubacks: inversions(r.pubacks),
  }).toEqual({ clean: 0, persistent: 0, queued: 0, pubacks: 0 });
}

async function bareAedes(opts: AedesOptions = {}): Promise<{ port: number; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker(opts);
  const server: Server = createServer((s) => aedes.handle(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('message order [MQTT-4.6.0-6]: one client, one topic, QoS 1', () => {
  it('bare Aedes 1.2 (no hooks) keeps the order: the reference for what the hooks must not break', async () => {
    const b = await bareAedes();
    try {
      expectInOrder(await runOrder(b.port, { large: true, future: true }, 'a'));
    } finally {
      await b.close();
    }
  }, 60_000);

  it("the project's broker keeps it with messages that have nothing to store mixed in (memory sessions)", async () => {
    // Before publish-order.ts: 1,210-1,232 of 2,000 out of order for every subscriber and in the
    // PUBACKs. A message whose readings were all refused called back at once and overtook the
    // telemetry before it, which waited for its group commit.
    const bed = brokerBed('sg-order-');
    bed.open();
    const broker = await bed.start({ allowAnonymous: true, limits: { messageBurst: N } });
    try {
      expectInOrder(await runOrder(broker.port, { large: true, future: true }, 'm'));
    } finally {
      await bed.close();
    }
  }, 60_000);

  it("the project's broker keeps it when store writes complete out of order (SQLite sessions, slow store)", async () => {
    // Four recorder writes in flight (as for InfluxDB), each message its own batch (as when other
    // gateways fill the batches), and a store whose odd writes take 3 ms and even ones none: later
    // batches commit first. Before publish-order.ts: 582 of 2,000 out of order, 147 of the 500
    // here (500: every message is a store commit).
    const bed = brokerBed('sg-order-');
    const { store } = bed.open();
    let writes = 0;
    const slow: Store = Object.assign(Object.create(store) as Store, {
      async write(batch: readonly StoredReading[]) {
        const ms = writes++ % 2 === 0 ? 3 : 0;
        await new Promise((r) => setTimeout(r, ms));
        return store.write(batch);
      },
    });
    const broker = await bed.start({
      allowAnonymous: true,
      store: slow,
      persistence: { kind: 'sqlite', path: join(bed.dir, 'sessions.sqlite') },
      recorder: { concurrency: 4, maxBatch: 1 },
      limits: { messageBurst: N },
    });
    try {
      expectInOrder(await runOrder(broker.port, { large: false, future: false }, 's', 500), 500);
      expect(writes).toBeGreaterThanOrEqual(500);
    } finally {
      await bed.close();
    }
  }, 60_000);

  it("one client's message waiting for the store does not hold another client's", async () => {
    // Two recorder writes in flight: the stuck client's batch takes one, the other client's the
    // other. (With one, the recorder itself makes everyone wait for a stuck write.)
    const bed = brokerBed('sg-order-');
    const { store } = bed.open();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let stuckWrites = 0;
    const gated: Store = Object.assign(Object.create(store) as Store, {
      async write(batch: readonly StoredReading[]) {
        if (batch.some((r) => r.site === 'stuck')) {
          stuckWrites++;
          await gate;
        }
        return store.write(batch);
      },
    });
    const broker = await bed.start({
      allowAnonymous: true,
      store: gated,
      recorder: { concurrency: 2 },
    });
    const stuck = await connect(broker.port, { clientId: 'stuck.gw-1' });
    const other = await connect(broker.port, { clientId: `${SITE}.${GATEWAY}` });
    const received: number[] = [];
    const sub = collecting(broker.port, { clientId: 'control-center-o' }, received, 50);
    try {
      await sub.connected;
      await sub.client.subscribeAsync(TOPIC, { qos: 1 });
      let stuckAcked = false;
      const stuckDone = stuck
        .publishAsync('slopeguard/v1/stuck/gw-1/telemetry', payloadOf(0, { large: false, future: false }), {
          qos: 1,
        })
        .then(() => {
          stuckAcked = true;
        });
      await until(() => stuckWrites === 1);
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          other.publishAsync(TOPIC, payloadOf(i, { large: false, future: false }), { qos: 1 }),
        ),
      );
      await until(() => received.length === 50, 20_000);
      expect(received).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(stuckAcked).toBe(false);
      release();
      await stuckDone;
    } finally {
      release();
      await bed.close([stuck, other, sub.client]);
    }
  }, 60_000);

  describe.skipIf(!existsSync('/usr/sbin/mosquitto'))('Debian mosquitto, for reference', () => {
    let proc: ChildProcess | undefined;
    let port = 0;
    const tmp = tempDir('sg-order-mosq-');
    beforeAll(async () => {
      const s = createServer().listen(0, '127.0.0.1');
      await once(s, 'listening');
      port = (s.address() as { port: number }).port;
      await new Promise<void>((r) => s.close(() => r()));
      const conf = join(tmp.dir, 'mosquitto.conf');
      // Unlimited queue for the offline session (the default keeps 1,000 and drops the rest).
      writeFileSync(
        conf,
        `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n`,
      );
      proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
      await until(
        () =>
          connect(port, {}, 500).then(
            (c) => c.endAsync().then(() => true),
            () => false,
          ),
        10_000,
      );
    });
    afterAll(async () => {
      if (proc && proc.exitCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGTERM');
        await exited;
      }
      tmp.cleanup();
    });
    it('keeps the order', async () => {
      expectInOrder(await runOrder(port, { large: true, future: true }, 'x'));
    }, 60_000);
  });
});

// --- Where the reorder comes from: Aedes continues each PUBLISH when its authorizePublish calls back.

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

function connectPacket(clientId: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str(clientId)]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}

function publishQos1(topic: string, id: number, payload: string): Buffer {
  const body = Buffer.concat([str(topic), Buffer.from([id >> 8, id & 0xff]), Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x32, ...remainingLength(body.length)]), body]);
}

/** The packet ids of the PUBACKs (type 4) a raw connection receives, in order. */
function pubacksOf(socket: Socket): number[] {
  const ids: number[] = [];
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    // Only CONNACK and PUBACK come here: two-byte remaining length, four bytes a packet.
    while (buf.length >= 4) {
      if (buf[0] === 0x40) ids.push(((buf[2] as number) << 8) | (buf[3] as number));
      buf = buf.subarray(4);
    }
  });
  return ids;
}

/**
 * The upstream reproduction (docs/broker.md#message-order): a raw client sends two QoS 1 PUBLISHes
 * on one topic in one TCP write; the authorizePublish hook calls back for the first ("slow") after
 * 10 ms and for the second at once, as any hook doing I/O may. Aedes writes the PUBACK and
 * publishes each as soon as its callback comes.
 */
async function twoPublishes(
  wrap: (hook: AedesOptions['authorizePublish']) => AedesOptions['authorizePublish'],
) {
  const hook: AedesOptions['authorizePublish'] = (_client, packet, done) => {
    if (packet.payload.toString() === 'slow') setTimeout(() => done(null), 10);
    else done(null);
  };
  const b = await bareAedes({ authorizePublish: wrap(hook) });
  const received: string[] = [];
  const sub = await connect(b.port, { clientId: 'sub' });
  await sub.subscribeAsync('t/order', { qos: 1 });
  const both = new Promise<void>((resolve) => {
    sub.on('message', (_t, payload) => {
      received.push(payload.toString());
      if (received.length === 2) resolve();
    });
  });
  const raw = netConnect(b.port, '127.0.0.1');
  const pubacks = pubacksOf(raw);
  await once(raw, 'connect');
  raw.write(connectPacket('raw-pub'));
  await until(() => raw.bytesRead >= 4);
  raw.write(Buffer.concat([publishQos1('t/order', 1, 'slow'), publishQos1('t/order', 2, 'fast')]));
  await both;
  await until(() => pubacks.length === 2);
  raw.destroy();
  await sub.endAsync();
  await b.close();
  return { received, pubacks };
}

describe('where the reorder comes from', () => {
  it('bare Aedes 1.2 publishes and acknowledges in the order authorizePublish calls back, not the order received', async () => {
    const { received, pubacks } = await twoPublishes((h) => h);
    expect(received).toEqual(['fast', 'slow']);
    expect(pubacks).toEqual([2, 1]);
  });

  it('orderPublishes (broker/src/publish-order.ts) restores the order received', async () => {
    const { received, pubacks } = await twoPublishes((h) => orderPublishes(h as NonNullable<typeof h>));
    expect(received).toEqual(['slow', 'fast']);
    expect(pubacks).toEqual([1, 2]);
  });
});
