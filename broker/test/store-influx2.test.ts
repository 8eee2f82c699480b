import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInflux2Store } from '../src/store/influx2.ts';
import { tempDir } from './helpers.ts';
import { HAS_INFLUXD, type Influxd, startInfluxd } from './influxd.ts';
import { storeContract } from './store-contract.ts';

/**
 * No InfluxDB 2.x/3.x can run here (Debian ships 1.6.7, which answers 404 to /api/v2/*). The v2
 * store is run through the contract suite with a shim in front of a real influxd 1.6.7 that
 * checks the v2 write request (path, org, bucket, precision, token) and passes its body on to
 * /write; /query goes straight through. So the official client's request and the shared mapping
 * are exercised for real; a 2.x server's own behaviour is not.
 */
const TOKEN = 'test-token';
const ORG = 'slopeguard';

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

function startShim(upstream: string): Promise<{ url: string; server: Server; writes: () => number }> {
  let writes = 0;
  const server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://shim');
    if (req.headers.authorization !== `Token ${TOKEN}`)
      return res.writeHead(401).end('{"code":"unauthorized"}');
    if (req.method === 'POST' && u.pathname === '/api/v2/write') {
      const bucket = u.searchParams.get('bucket') ?? '';
      if (u.searchParams.get('org') !== ORG || u.searchParams.get('precision') !== 'ms' || bucket === '') {
        return res.writeHead(400).end('{"code":"invalid"}');
      }
      writes++;
      const r = await fetch(`${upstream}/write?db=${encodeURIComponent(bucket)}&precision=ms`, {
        method: 'POST',
        body: new Uint8Array(await body(req)),
      });
      return res.writeHead(r.status).end(await r.text());
    }
    if (u.pathname === '/query') {
      const r = await fetch(`${upstream}/query${u.search}`);
      return res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => ({
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    server,
    writes: () => writes,
  }));
}

/** In 2.x the bucket exists before anyone writes: create the 1.x database and wait until it is listed. */
async function createBucket(upstream: string, bucket: string): Promise<void> {
  await fetch(`${upstream}/query?q=${encodeURIComponent(`CREATE DATABASE "${bucket}"`)}`, { method: 'POST' });
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${upstream}/query?q=SHOW%20DATABASES`);
    if ((await r.text()).includes(`"${bucket}"`)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`database ${bucket} did not appear`);
}

if (!HAS_INFLUXD) {
  describe('Store contract: InfluxDB 2.x client', () => {
    // A real-server test never skips: without influxd it fails and names the package (`npm test`
    // checks for it before any test runs, scripts/check-test-tools.mjs).
    it('needs /usr/bin/influxd', () => {
      throw new Error(
        'influxd missing: install the Debian package `influxdb` (sudo apt-get install -y influxdb)',
      );
    });
  });
} else {
  const tmp = tempDir('sg-influxd2-');
  let influxd: Influxd;
  let shim: Awaited<ReturnType<typeof startShim>>;
  let n = 0;
  beforeAll(async () => {
    influxd = await startInfluxd(tmp.dir);
    shim = await startShim(influxd.url);
  }, 60_000);
  afterAll(async () => {
    shim?.server.close();
    await influxd?.stop();
    tmp.cleanup();
  });

  storeContract(
    'InfluxDB 2.x client (official client, v2 write API, through a shim to influxd 1.6.7)',
    async () => {
      const bucket = `v2contract_${process.pid}_${n++}`;
      await createBucket(influxd.url, bucket);
      return {
        store: openInflux2Store({ url: shim.url, token: TOKEN, org: ORG, bucket }),
        cleanup: async () => {
          await fetch(`${influxd.url}/query?q=${encodeURIComponent(`DROP DATABASE "${bucket}"`)}`, {
            method: 'POST',
          });
        },
      };
    },
  );

  describe('InfluxDB 2.x client: failures', () => {
    it('rejects a write the server refuses (no silent retry inside the client)', async () => {
      const store = openInflux2Store({ url: shim.url, token: 'wrong', org: ORG, bucket: 'x' });
      const before = shim.writes();
      await expect(
        store.write([{ site: 's', gateway: 'g', sensor: 't', kind: 'rain', ts: 1, values: { mm: 1 } }]),
      ).rejects.toMatchObject({ code: 'SG_ERR_STORE_WRITE' });
      expect(shim.writes()).toBe(before);
    });
  });
}
