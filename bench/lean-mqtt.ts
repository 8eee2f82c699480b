/**
 * A minimal MQTT 3.1.1 publisher for the broker bench's load generator: CONNECT (clean session,
 * anonymous), QoS 1 PUBLISH, and PUBACK parsing; nothing else (no subscribe, no reconnect, no
 * keep-alive, no store of outgoing messages).
 *
 * Why not MQTT.js there: on this 2-core machine the load generator shares the cores with the
 * broker it measures, so every microsecond it spends per message lowers the broker's figure.
 * Profiled (session 8), the MQTT.js generator threads cost about 5 ms of CPU per 1,000 readings,
 * a quarter of the whole run, most of it in the client's JavaScript (packet objects, stream
 * layers, debug calls) rather than in the socket calls that any client needs. This one writes one
 * Buffer per PUBLISH and reads PUBACKs straight off the socket's chunks.
 *
 * It is a bench tool, not a client of the product: gateways use MQTT.js (edge/). The bench can
 * still run on MQTT.js (SG_BENCH_CLIENT=mqttjs), and both Aedes and Debian's Mosquitto accept this
 * client on the same runs, which is the check that what it sends is MQTT.
 */
import { connect as netConnect, type Socket } from 'node:net';

export interface LeanPublisher {
  /** Sends a QoS 1 PUBLISH; `onAck` is called with its PUBACK, or with an error if the connection ends first. */
  publish(topic: string, payload: string, onAck: (err?: Error) => void): void;
  /** DISCONNECT, then closes the socket. */
  end(): Promise<void>;
}

const CONNECT = 0x10;
const CONNACK = 0x20;
const PUBLISH_QOS1 = 0x32;
const PUBACK = 0x40;
const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** MQTT's variable-length "remaining length" (1-4 bytes) written at `at`; returns the next offset. */
function writeLength(buf: Buffer, at: number, length: number): number {
  let n = length;
  let i = at;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[i++] = byte;
  } while (n > 0);
  return i;
}

function lengthBytes(length: number): number {
  return length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4;
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  // Variable header: "MQTT", level 4, flags (clean session), keep-alive 0 (off); payload: client id.
  const body = 2 + 4 + 1 + 1 + 2 + 2 + id.length;
  const buf = Buffer.alloc(1 + lengthBytes(body) + body);
  buf[0] = CONNECT;
  let at = writeLength(buf, 1, body);
  at = buf.writeUInt16BE(4, at);
  at += buf.write('MQTT', at, 'latin1');
  buf[at++] = 4;
  buf[at++] = 0x02;
  at = buf.writeUInt16BE(0, at);
  at = buf.writeUInt16BE(id.length, at);
  id.copy(buf, at);
  return buf;
}

export function connectLean(o: {
  host: string;
  port: number;
  clientId: string;
  timeoutMs?: number;
}): Promise<LeanPublisher> {
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect({ host: o.host, port: o.port, noDelay: true });
    const acks = new Map<number, (err?: Error) => void>();
    let nextId = 1;
    let connected = false;
    let pending: Buffer | undefined;
    const timer = setTimeout(
      () => fail(new Error(`no CONNACK within ${o.timeoutMs ?? 30_000} ms`)),
      o.timeoutMs ?? 30_000,
    );

    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      if (!connected) reject(err);
      for (const cb of acks.values()) cb(err);
      acks.clear();
    }

    function onPacket(type: number, body: Buffer): void {
      if (type === CONNACK) {
        if (body.length !== 2 || body[1] !== 0) {
          fail(new Error(`connection refused (CONNACK ${body.toString('hex')})`));
          return;
        }
        connected = true;
        clearTimeout(timer);
        resolve(publisher);
        return;
      }
      if (type === PUBACK && body.length === 2) {
        const id = body.readUInt16BE(0);
        const cb = acks.get(id);
        if (cb) {
          acks.delete(id);
          cb();
        }
        return;
      }
      fail(new Error(`unexpected packet type 0x${type.toString(16)} from the broker`));
    }

    socket.on('data', (chunk: Buffer) => {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      let at = 0;
      while (at < buf.length) {
        // Fixed header: type byte, then 1-4 length bytes.
        let length = 0;
        let mul = 1;
        let i = at + 1;
        let complete = false;
        while (i < buf.length && i < at + 5) {
          const b = buf[i++] as number;
          length += (b & 0x7f) * mul;
          mul *= 128;
          if ((b & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || i + length > buf.length) break;
        onPacket((buf[at] as number) & 0xf0, buf.subarray(i, i + length));
        at = i + length;
      }
      if (at < buf.length) pending = Buffer.from(buf.subarray(at));
    });
    socket.on('error', (err) => fail(err));
    socket.on('close', () => fail(new Error('connection closed')));
    socket.once('connect', () => socket.write(connectPacket(o.clientId)));

    const publisher: LeanPublisher = {
      publish(topic, payload, onAck) {
        const id = nextId;
        nextId = nextId === 65_535 ? 1 : nextId + 1;
        const topicLength = Buffer.byteLength(topic, 'utf8');
        const payloadLength = Buffer.byteLength(payload, 'utf8');
        const body = 2 + topicLength + 2 + payloadLength;
        const buf = Buffer.allocUnsafe(1 + lengthBytes(body) + body);
        buf[0] = PUBLISH_QOS1;
        let at = writeLength(buf, 1, body);
        at = buf.writeUInt16BE(topicLength, at);
        at += buf.write(topic, at, 'utf8');
        at = buf.writeUInt16BE(id, at);
        buf.write(payload, at, 'utf8');
        acks.set(id, onAck);
        socket.write(buf);
      },
      end() {
        return new Promise<void>((done) => {
          if (socket.destroyed) return done();
          socket.removeAllListeners('close');
          socket.once('close', () => done());
          socket.end(DISCONNECT);
        });
      },
    };
  });
}
