import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServerConfig } from '../../cli/server/config.ts';
import { ROOT } from '../unit-file.ts';

/** The cluster files deploy/cluster/ ships, checked by the programs that read them. */
describe('deploy/cluster', () => {
  it("haproxy.cfg is valid for Debian's HAProxy (haproxy -c)", () => {
    const r = spawnSync('/usr/sbin/haproxy', ['-c', '-f', join(ROOT, 'deploy/cluster/haproxy.cfg')], {
      encoding: 'utf8',
    });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toMatch(/Configuration file is valid/);
    expect(r.status).toBe(0);
  });

  it('server-node.example.yaml is a valid server.yaml with a cluster section', () => {
    const text = readFileSync(join(ROOT, 'deploy/cluster/server-node.example.yaml'), 'utf8');
    const r = parseServerConfig(text, {});
    expect(r.ok && r.value.cluster).toEqual({
      node: 'node1',
      redis: 'redis://10.0.0.30:6379/0',
      control_center: false,
      revocation_poll_ms: 1000,
    });
  });
});

describe('server.yaml cluster:', () => {
  const base = 'mqtt:\n  tcp: { port: 1883 }\n';
  const influx = 'store: { type: influxdb1, url: "http://127.0.0.1:8086" }\n';
  it('is off by default', () => {
    const r = parseServerConfig(base, {});
    expect(r.ok && r.value.cluster).toBeUndefined();
  });
  it('refuses a per-node SQLite store, a bad node name, a non-redis URL and unknown keys', () => {
    const sqlite = parseServerConfig(`${base}cluster: { node: n1, redis: "redis://r:6379/0" }\n`, {});
    expect(sqlite).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^\/store\/type: a cluster needs/)],
    });
    const bad = parseServerConfig(
      `${base}${influx}cluster: { node: "Node 1", redis: "http://r", extra: 1 }\n`,
      {},
    );
    expect(bad.ok).toBe(false);
    const errors = bad.ok ? [] : bad.errors.join('\n');
    expect(errors).toMatch(/\/cluster\/node/);
    expect(errors).toMatch(/\/cluster\/redis/);
    expect(errors).toMatch(/\/cluster/);
  });
  it('takes the Redis URL (with its password) from SLOPEGUARD_REDIS_URL', () => {
    const r = parseServerConfig(`${base}${influx}cluster: { node: n1, redis: "redis://r:6379/0" }\n`, {
      SLOPEGUARD_REDIS_URL: 'redis://:secret@r:6379/1',
    });
    expect(r.ok && r.value.cluster?.redis).toBe('redis://:secret@r:6379/1');
  });
});
