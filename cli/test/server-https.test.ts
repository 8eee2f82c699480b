import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { certsCommand } from '../commands/certs.ts';
import { parseServerConfig } from '../server/config.ts';
import { startServer } from '../server/start.ts';

/**
 * server.yaml `http.tls`: the control center of `slopeguard server` serves HTTPS from the files
 * `slopeguard certs` makes, and /readyz over it sees the SQLite store and the server's own broker.
 */
describe('slopeguard server over HTTPS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-https-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an unknown key under http.tls', () => {
    const r = parseServerConfig(
      'mqtt: { tcp: { port: 0 } }\nhttp: { tls: { cert: a, key: b, pin: c } }\n',
      {},
    );
    expect(r.ok).toBe(false);
  });

  it('answers /readyz over TLS with the certificate from `slopeguard certs`', async () => {
    const certs = join(dir, 'certs');
    expect(await certsCommand.run(['ca', '--dir', certs])).toBe(0);
    expect(await certsCommand.run(['server', '--dir', certs, '--host', '127.0.0.1'])).toBe(0);
    const parsed = parseServerConfig(
      `data_dir: ${dir}/data\nmqtt:\n  tcp: { port: 0 }\nhttp:\n  port: 0\n  tls: { cert: ${certs}/server.crt, key: ${certs}/server.key }\n`,
      {},
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const server = await startServer(parsed.value, new Map(), pino({ level: 'silent' }));
    try {
      const center = server.center;
      if (!center) throw new Error('a single server runs a control center');
      expect(center.url).toMatch(/^https:/);
      const ca = readFileSync(join(certs, 'ca.crt'));
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${center.url}readyz`, { ca }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({
        ready: true,
        checks: { store: { ok: true }, broker: { ok: true } },
      });
    } finally {
      await server.close();
    }
  });
});
