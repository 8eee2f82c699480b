import { EventEmitter } from 'node:events';
import type { Client, PublishPacket } from 'aedes';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDurablePuback, NEAR_FULL_RETRY_MS } from '../src/persistence/durable-puback.ts';

/**
 * The hold of durable-puback.ts against a connection whose write buffer is (nearly) full. Node
 * emits 'drain' only after a write overflowed the buffer (`writableNeedDrain`); a buffer just under
 * its mark sends none when it empties, so a hold that waited for 'drain' there stalled until
 * another write overflowed it or the client's keepalive closed it. End-to-end order and the PUBACK
 * hold itself: persistence-puback.test.ts and message-order.test.ts.
 */
class FakeConn extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  writableHighWaterMark = 16_384;
  writableNeedDrain = false;
  corks = 0;
  cork() {
    this.corks++;
  }
  uncork() {
    this.corks--;
  }
}

function publishThrough(conn: FakeConn) {
  const puback = createDurablePuback();
  const hook = puback.authorizePublish((_client, _packet, done) => done(null));
  const passed = vi.fn();
  const packet = {
    cmd: 'publish',
    qos: 1,
    topic: 't',
    payload: Buffer.from('x'),
  } as unknown as PublishPacket;
  hook({ conn } as unknown as Client, packet, passed);
  return passed;
}

describe('durable PUBACK hold on a full write buffer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a buffer just under its mark, with no drain due, is looked at again until it has room', () => {
    const conn = new FakeConn();
    conn.writableLength = conn.writableHighWaterMark - 10;
    const passed = publishThrough(conn);
    expect(passed).not.toHaveBeenCalled();
    vi.advanceTimersByTime(NEAR_FULL_RETRY_MS * 5);
    expect(passed).not.toHaveBeenCalled(); // still nearly full: corking now could deadlock
    conn.writableLength = 100; // the socket sent; no 'drain' is emitted for this
    vi.advanceTimersByTime(NEAR_FULL_RETRY_MS);
    expect(passed).toHaveBeenCalledOnce();
    expect(conn.corks).toBe(1); // and its PUBACK is held until the message is queued
    expect(conn.listenerCount('close')).toBe(0);
  });

  it('an overflowed buffer waits for its drain', () => {
    const conn = new FakeConn();
    conn.writableLength = conn.writableHighWaterMark + 500;
    conn.writableNeedDrain = true;
    const passed = publishThrough(conn);
    vi.advanceTimersByTime(1000);
    expect(passed).not.toHaveBeenCalled();
    conn.writableLength = 0;
    conn.writableNeedDrain = false;
    conn.emit('drain');
    expect(passed).toHaveBeenCalledOnce();
    expect(conn.corks).toBe(1);
    expect(conn.listenerCount('drain') + conn.listenerCount('close')).toBe(0);
  });

  it('a connection that closes while held lets the message go without a cork', () => {
    const conn = new FakeConn();
    conn.writableLength = conn.writableHighWaterMark - 1;
    const passed = publishThrough(conn);
    conn.destroyed = true;
    conn.emit('close');
    expect(passed).toHaveBeenCalledOnce();
    expect(conn.corks).toBe(0);
    vi.advanceTimersByTime(NEAR_FULL_RETRY_MS * 10);
    expect(passed).toHaveBeenCalledOnce(); // the retry timer went with the close
  });

  it('a buffer with room corks at once', () => {
    const conn = new FakeConn();
    const passed = publishThrough(conn);
    expect(passed).toHaveBeenCalledOnce();
    expect(conn.corks).toBe(1);
  });
});
