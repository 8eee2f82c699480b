import { describe, expect, it } from 'vitest';
import type { DeviceRegistry } from '../src/auth/registry.ts';

/**
 * What every DeviceRegistry implementation must do (SQLite: registry-sqlite.test.ts; Redis, the
 * cluster's: registry-redis.test.ts). `open` gives a fresh, empty registry; `second` opens another
 * handle on the same data, as another process (the CLI) or another broker node would;
 * `settle` waits until a change made through `writer` is visible through `reader`.
 */
export interface RegistryFixture {
  open(): Promise<DeviceRegistry>;
  second(first: DeviceRegistry): Promise<DeviceRegistry>;
  settle(writer: DeviceRegistry, reader: DeviceRegistry): Promise<void>;
}

export function registryContract(name: string, fixture: RegistryFixture): void {
  describe(`device registry contract: ${name}`, () => {
    it('provisions a gateway, verifies its secret and refuses a wrong one', async () => {
      const r = await fixture.open();
      const secret = r.addDevice('hill-1', 'gw-1');
      expect(secret.length).toBeGreaterThanOrEqual(20);
      expect(r.get('hill-1.gw-1')).toMatchObject({
        username: 'hill-1.gw-1',
        role: 'gateway',
        site: 'hill-1',
        gateway: 'gw-1',
      });
      expect(await r.verify('hill-1.gw-1', secret)).toMatchObject({ ok: true, account: { role: 'gateway' } });
      expect(await r.verify('hill-1.gw-1', `${secret}x`)).toEqual({ ok: false, reason: 'bad_secret' });
      expect(await r.verify('hill-1.nobody', secret)).toEqual({ ok: false, reason: 'unknown_account' });
      // The cheap check knows only what this handle verified itself.
      expect(r.verifyCached('hill-1.gw-1', secret)?.username).toBe('hill-1.gw-1');
      expect(r.verifyCached('hill-1.gw-1', 'other')).toBeUndefined();
      r.close();
    });

    it('refuses bad ids, bad roles, short passwords and a second add without replace', async () => {
      const r = await fixture.open();
      expect(() => r.addDevice('Hill 1', 'gw-1')).toThrow(
        expect.objectContaining({ code: 'SG_ERR_REGISTRY_INPUT' }),
      );
      expect(() => r.addAccount('cc.x', { role: 'control-center' })).toThrow(
        expect.objectContaining({ code: 'SG_ERR_REGISTRY_INPUT' }),
      );
      expect(() => r.addAccount('cc', { role: 'gateway' as 'observer' })).toThrow(
        expect.objectContaining({ code: 'SG_ERR_REGISTRY_INPUT' }),
      );
      expect(() => r.addAccount('cc', { role: 'observer', password: 'short' })).toThrow(
        expect.objectContaining({ code: 'SG_ERR_REGISTRY_INPUT' }),
      );
      r.addDevice('hill-1', 'gw-1');
      expect(() => r.addDevice('hill-1', 'gw-1')).toThrow(
        expect.objectContaining({ code: 'SG_ERR_REGISTRY_EXISTS' }),
      );
      r.close();
    });

    it('lists by role and site, hides revoked accounts unless asked', async () => {
      const r = await fixture.open();
      r.addDevice('a', 'g1');
      r.addDevice('b', 'g1');
      r.addAccount('center', { role: 'control-center', password: 'long-enough-password' });
      r.revoke('b.g1');
      expect(r.list().map((a) => a.username)).toEqual(['a.g1', 'center']);
      expect(r.list({ includeRevoked: true }).map((a) => a.username)).toEqual(['a.g1', 'b.g1', 'center']);
      expect(r.list({ role: 'gateway' }).map((a) => a.username)).toEqual(['a.g1']);
      expect(r.list({ site: 'b', includeRevoked: true }).map((a) => a.username)).toEqual(['b.g1']);
      r.close();
    });

    it('revokes once, refuses the old secret afterwards, and tells its listeners', async () => {
      const r = await fixture.open();
      const secret = r.addDevice('hill-1', 'gw-1');
      expect((await r.verify('hill-1.gw-1', secret)).ok).toBe(true);
      const told: string[] = [];
      r.onRevoke((u) => told.push(u));
      expect(r.revoke('hill-1.gw-1')).toBe(true);
      expect(r.revoke('hill-1.gw-1')).toBe(false);
      expect(r.revoke('nobody')).toBe(false);
      expect(told).toEqual(['hill-1.gw-1']);
      expect(r.get('hill-1.gw-1')?.revokedAt).toBeTypeOf('number');
      expect(await r.verify('hill-1.gw-1', secret)).toEqual({ ok: false, reason: 'revoked' });
      expect(r.verifyCached('hill-1.gw-1', secret)).toBeUndefined();
      r.close();
    });

    it('a replaced secret ends the old one (listeners are told, the old secret fails)', async () => {
      const r = await fixture.open();
      const old = r.addAccount('center', { role: 'control-center' });
      expect((await r.verify('center', old)).ok).toBe(true);
      const told: string[] = [];
      r.onRevoke((u) => told.push(u));
      const fresh = r.addAccount('center', { role: 'control-center', replace: true });
      expect(told).toEqual(['center']);
      expect(await r.verify('center', old)).toEqual({ ok: false, reason: 'bad_secret' });
      expect((await r.verify('center', fresh)).ok).toBe(true);
      r.close();
    });

    it('another handle sees additions and revocations, and says the data changed elsewhere', async () => {
      const r = await fixture.open();
      const other = await fixture.second(r);
      expect(other.changedElsewhere()).toBe(false);
      const secret = r.addDevice('hill-2', 'gw-1');
      await fixture.settle(r, other);
      expect(other.changedElsewhere()).toBe(true);
      expect(other.changedElsewhere()).toBe(false);
      expect((await other.verify('hill-2.gw-1', secret)).ok).toBe(true);
      expect(other.revoke('hill-2.gw-1')).toBe(true);
      await fixture.settle(other, r);
      expect(r.changedElsewhere()).toBe(true);
      expect(r.get('hill-2.gw-1')?.revokedAt).toBeTypeOf('number');
      expect(await r.verify('hill-2.gw-1', secret)).toEqual({ ok: false, reason: 'revoked' });
      // A handle's own changes are not "elsewhere".
      r.addDevice('hill-2', 'gw-2');
      await fixture.settle(r, r);
      expect(r.changedElsewhere()).toBe(false);
      other.close();
      r.close();
    });
  });
}
