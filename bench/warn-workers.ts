/**
 * Worker threads of the warnings benchmark, so that what is not the control center runs on the other
 * core as it would on other machines: the push service (it verifies and decrypts every message) and
 * the HTTP load generator (node:http on keep-alive connections). One file, two roles.
 */
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { startPushService } from '../control-center/test/warn/push-service.ts';

type Data =
  | { role: 'push'; vapidPublicKey: string }
  | { role: 'load'; url: string; seconds: number; connections: number };
const data = workerData as Data;
const port = parentPort;
if (!port) throw new Error('run as a worker');

if (data.role === 'push') {
  const service = await startPushService({ vapidPublicKey: data.vapidPublicKey });
  port.on('message', (m: { type: string; names?: string[] }) => {
    if (m.type === 'subscribe') port.postMessage((m.names ?? []).map((n) => service.subscribe(n)));
    if (m.type === 'stats')
      port.postMessage({
        delivered: new Set(service.received.map((r) => r.name)).size,
        received: service.received.length,
        refused: service.refused.length,
      });
    if (m.type === 'close') void service.close().then(() => port.postMessage('closed'));
  });
  port.postMessage('ready');
} else {
  const agent = new Agent({ keepAlive: true, maxSockets: data.connections });
  const url = new URL(data.url);
  let done = 0;
  let bytes = 0;
  let bad = 0;
  const deadline = performance.now() + data.seconds * 1000;
  const t0 = performance.now();
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
        });
        res.on('end', () => {
          if (res.statusCode === 200) bytes = n;
          else bad++;
          done++;
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  await Promise.all(
    Array.from({ length: data.connections }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  agent.destroy();
  port.postMessage({ rate: done / ((performance.now() - t0) / 1000), bytes, bad });
}
