import { EventEmitter } from 'node:events';
import type { AedesOptions, Client, PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { orderPublishes } from '../src/publish-order.ts';

/**
 * The ordering wrapper on its own (broker/src/publish-order.ts), driven by hand: which callback
 * Aedes gets when. The end-to-end proof with real clients is message-order.test.ts; this pins the
 * properties that one cannot isolate: other clients are not held, the hook's work is not
 * serialised (group commit needs every message of a read at once), a full write buffer, the will.
 */

type Hook = NonNullable<AedesOptions['authorizePublish']>;

class FakeConn extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  writableHighWaterMark = 16_384;
  writableNeedDrain = false;
}

function client(id: string): Client & { conn: FakeConn; closed: boolean } {
  return { id, conn: new FakeConn(), closed: false } as unknown as Client & {
    conn: FakeConn;
    closed: boolean;
  };
}

const packet = (payload: string): PublishPacket =>
  ({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.from(payload),
    qos: 1,
    dup: false,
    retain: false,
  }) as PublishPacket;

/** A hook whose callbacks the test releases by payload; it records when it was called. */
function manualHook() {
  const pending = new Map<string, (err?: Error | null) => void>();
  const called: string[] = [];
  const hook: Hook = (_c, p, done) => {
    called.push(p.payload.toString());
    pending.set(p.payload.toString(), done);
  };
  return {
    hook,
    called,
    finish(name: string, err: Error | null = null) {
      const done = pending.get(name);
      if (!done) throw new Error(`no pending ${name}`);
      pending.delete(name);
      done(err);
    },
  };
}

describe('orderPublishes', () => {
  it("hands one client's results to Aedes in the order received, and calls the hook for all at once", () => {
    const h = manualHook();
    const ordered = orderPublishes(h.hook);
    const c = client('a');
    const out: string[] = [];
    for (const name of ['1', '2', '3']) ordered(c, packet(name), () => out.push(name));
    // The hook saw all three before any finished: validation and the recorder run concurrently.
    expect(h.called).toEqual(['1', '2', '3']);
    h.finish('3');
    h.finish('2');
    expect(out).toEqual([]);
    h.finish('1');
    expect(out).toEqual(['1', '2', '3']);
  });

  it('does not hold one client behind another', () => {
    const h = manualHook();
    const ordered = orderPublishes(h.hook);
    const a = client('a');
    const b = client('b');
    const out: string[] = [];
    ordered(a, packet('a1'), () => out.push('a1'));
    ordered(a, packet('a2'), () => out.push('a2'));
    ordered(b, packet('b1'), () => out.push('b1'));
    h.finish('a2');
    h.finish('b1');
    expect(out).toEqual(['b1']); // a1 is stuck (a store that does not answer): only a2 waits for it
    h.finish('a1');
    expect(out).toEqual(['b1', 'a1', 'a2']);
  });

  it('passes errors on in order, each to its own message', () => {
    const h = manualHook();
    const ordered = orderPublishes(h.hook);
    const c = client('a');
    const out: string[] = [];
    ordered(c, packet('1'), (err) => out.push(`1:${err?.message ?? 'ok'}`));
    ordered(c, packet('2'), (err) => out.push(`2:${err?.message ?? 'ok'}`));
    h.finish('2', new Error('rate'));
    h.finish('1');
    expect(out).toEqual(['1:ok', '2:rate']);
  });

  it('turns a hook that throws into an error for that message, in order, and does not hold the next', () => {
    const h = manualHook();
    const ordered = orderPublishes((c, p, done) => {
      if (p.payload.toString() === 'bad') throw new Error('hook bug');
      h.hook(c, p, done);
    });
    const c = client('a');
    const out: string[] = [];
    ordered(c, packet('1'), (err) => out.push(`1:${err?.message ?? 'ok'}`));
    ordered(c, packet('bad'), (err) => out.push(`bad:${err?.message ?? 'ok'}`));
    ordered(c, packet('3'), (err) => out.push(`3:${err?.message ?? 'ok'}`));
    h.finish('3');
    expect(out).toEqual([]);
    h.finish('1');
    expect(out).toEqual(['1:ok', 'bad:hook bug', '3:ok']);
  });

  it("after a message that left the connection waiting for 'drain', holds the next ones until it", () => {
    const h = manualHook();
    const c = client('a');
    const out: string[] = [];
    // Stands in for Aedes writing the PUBACK: this one finds the buffer full.
    const ordered = orderPublishes(h.hook);
    ordered(c, packet('1'), () => {
      out.push('1');
      c.conn.writableNeedDrain = true;
      c.conn.writableLength = 20_000;
    });
    ordered(c, packet('2'), () => out.push('2'));
    ordered(c, packet('3'), () => out.push('3'));
    h.finish('1');
    expect(out).toEqual(['1']); // Aedes publishes '1' only after 'drain' (lib/write.js)
    // The buffer emptied a little, no 'drain' yet: '2' would be written, and published, first.
    c.conn.writableLength = 16_000;
    h.finish('2');
    h.finish('3');
    expect(out).toEqual(['1']);
    c.conn.writableNeedDrain = false;
    c.conn.writableLength = 0;
    c.conn.emit('drain');
    expect(out).toEqual(['1', '2', '3']);
    expect(c.conn.listenerCount('drain') + c.conn.listenerCount('close')).toBe(0);
  });

  it("does not wait on a buffer that is high but not waiting for 'drain' (none would come)", () => {
    const h = manualHook();
    const ordered = orderPublishes(h.hook);
    const c = client('a');
    c.conn.writableLength = 16_350;
    const out: string[] = [];
    ordered(c, packet('1'), () => out.push('1'));
    ordered(c, packet('2'), () => out.push('2'));
    h.finish('1');
    h.finish('2');
    expect(out).toEqual(['1', '2']);
  });

  it("releases on 'close' too (no 'drain' comes on a closed connection)", () => {
    const h = manualHook();
    const ordered = orderPublishes(h.hook);
    const c = client('a');
    const out: string[] = [];
    c.conn.writableNeedDrain = true;
    ordered(c, packet('1'), () => out.push('1'));
    ordered(c, packet('2'), () => out.push('2'));
    h.finish('1');
    h.finish('2');
    expect(out).toEqual(['1']);
    c.conn.destroyed = true;
    c.conn.emit('close');
    expect(out).toEqual(['1', '2']);
  });

  it("lets a closed client's will and the broker's own publishes through at once", () => {
    const h = manualHook();
    const ordered = orderPublishes(h.hook);
    const c = client('a');
    const out: string[] = [];
    ordered(c, packet('pending'), () => out.push('pending'));
    c.closed = true; // Aedes' close(): what is authorised now is the will
    ordered(c, packet('will'), () => out.push('will'));
    ordered(null, packet('sys'), () => out.push('sys'));
    h.finish('will');
    h.finish('sys');
    expect(out).toEqual(['will', 'sys']);
  });
});
