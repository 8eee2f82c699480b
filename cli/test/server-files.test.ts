import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServerConfig } from '../server/config.ts';
import { startServer } from '../server/start.ts';

const here = dirname(fileURLToPath(import.meta.url));
const mode = (p: string) => statSync(p).mode & 0o777;

/** Issue 9: the registry holds scrypt hashes; sessions and readings are private too. */
describe('slopeguard server data files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the data directory 0700 and the registry, sessions and readings files 0600 (with a 022 umask)', async () => {
    const previous = process.umask(0o022);
    try {
      const parsed = parseServerConfig(
        `data_dir: ${dir}/data\nmqtt:\n  tcp: { port: 0 }\nhttp: { port: 0 }\n`,
        {},
      );
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      const server = await startServer(parsed.value, new Map(), pino({ level: 'silent' }));
      try {
        server.registry.addDevice('s1', 'g1'); // a write, so that the -wal files exist
        const data = join(dir, 'data');
        expect(mode(data)).toBe(0o700);
        for (const f of ['registry.sqlite', 'sessions.sqlite', 'readings.sqlite']) {
          expect(mode(join(data, f)), f).toBe(0o600);
          if (existsSync(join(data, `${f}-wal`)))
            expect(mode(join(data, `${f}-wal`)), `${f}-wal`).toBe(0o600);
        }
      } finally {
        await server.close();
      }
    } finally {
      process.umask(previous);
    }
  });

  it('the systemd units set UMask=0077 and StateDirectoryMode=0700', () => {
    for (const unit of ['slopeguard-server.service', 'slopeguard-edge.service']) {
      const text = readFileSync(resolve(here, '../../deploy/systemd', unit), 'utf8');
      const service = text.slice(text.indexOf('[Service]'), text.indexOf('[Install]'));
      expect(service, unit).toMatch(/^UMask=0077$/m);
      expect(service, unit).toMatch(/^StateDirectoryMode=0700$/m);
    }
  });
});
