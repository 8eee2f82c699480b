import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { certsCommand } from '../../cli/commands/certs.ts';
import { deviceCommand } from '../../cli/commands/device.ts';
import { openDeviceRegistry, openRedisRegistry } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import { startRedis } from './redis-server.ts';

/** `slopeguard device` and `slopeguard certs`, run in-process with stdout captured. */
describe('slopeguard device / certs', () => {
  let tmp: ReturnType<typeof tempDir>;
  let out: string[];
  beforeEach(() => {
    tmp = tempDir('sg-cli-');
    out = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      out.push(a.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
      out.push(a.join(' '));
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    tmp.cleanup();
  });

  it('adds a gateway, prints a working secret once, lists and revokes it', async () => {
    const db = `${tmp.dir}/registry.sqlite`;
    expect(await deviceCommand.run(['add', '--site', 's1', '--gateway', 'g1', '--db', db])).toBe(0);
    const secret = /secret\s+(\S+)/.exec(out.join('\n'))?.[1];
    expect(secret).toBeDefined();
    const registry = openDeviceRegistry(db);
    expect(await registry.verify('s1.g1', secret ?? '')).toMatchObject({
      ok: true,
      account: { role: 'gateway' },
    });

    out.length = 0;
    expect(await deviceCommand.run(['add', '--site', 's1', '--gateway', 'g1', '--db', db])).toBe(1);
    expect(out.join('\n')).toContain('SG_ERR_REGISTRY_EXISTS');

    out.length = 0;
    expect(await deviceCommand.run(['list', '--db', db])).toBe(0);
    expect(out.join('\n')).toMatch(/s1\.g1\s+gateway/);
    expect(out.join('\n')).not.toContain(secret);

    expect(await deviceCommand.run(['revoke', '--site', 's1', '--gateway', 'g1', '--db', db])).toBe(0);
    expect(await registry.verify('s1.g1', secret ?? '')).toEqual({ ok: false, reason: 'revoked' });
    registry.close();
  });

  it('creates a service account and refuses a gateway role there', async () => {
    const db = `${tmp.dir}/registry.sqlite`;
    expect(await deviceCommand.run(['account', '--name', 'observer', '--role', 'observer', '--db', db])).toBe(
      0,
    );
    await expect(
      deviceCommand.run(['account', '--name', 'x', '--role', 'gateway', '--db', db]),
    ).rejects.toThrow(/--role/);
  });

  it("--redis: provisions and revokes in a cluster's registry (in Redis before it says so)", async () => {
    const redis = await startRedis(tmp.dir);
    try {
      const url = ['--redis', redis.url];
      expect(await deviceCommand.run(['add', '--site', 's1', '--gateway', 'g1', ...url])).toBe(0);
      const secret = /secret\s+(\S+)/.exec(out.join('\n'))?.[1] ?? '';
      const node = await openRedisRegistry({ url: redis.url });
      expect((await node.verify('s1.g1', secret)).ok).toBe(true);
      expect(await deviceCommand.run(['revoke', '--site', 's1', '--gateway', 'g1', ...url])).toBe(0);
      await node.sync();
      expect(await node.verify('s1.g1', secret)).toEqual({ ok: false, reason: 'revoked' });
      node.close();
    } finally {
      await redis.stop();
    }
  }, 60_000);

  it('makes a CA, a server and a device certificate', async () => {
    const dir = `${tmp.dir}/certs`;
    expect(await certsCommand.run(['ca', '--dir', dir])).toBe(0);
    expect(await certsCommand.run(['server', '--host', 'localhost,127.0.0.1', '--dir', dir])).toBe(0);
    expect(await certsCommand.run(['device', '--site', 's1', '--gateway', 'g1', '--dir', dir])).toBe(0);
    expect(await certsCommand.run(['ca', '--dir', dir])).toBe(1); // never overwrites a CA silently
    expect(out.join('\n')).toContain('s1.g1.crt');
  }, 30_000);
});
