import { describe, expect, it } from 'vitest';
import { checkDriverConfig, createDriver, type DriverConfig } from '../src/index.ts';

describe('createDriver', () => {
  it('a port that does not exist at start: no throw, health down, open failures counted, retried', async () => {
    const driver = createDriver({
      driver: 'line',
      port: '/dev/does-not-exist-sg',
      reopenInitialMs: 10,
      reopenMaxMs: 20,
      sensors: [{ id: 'd1', kind: 'displacement', node: 'n1' }],
    });
    await driver.start(() => {});
    const first = driver.health();
    expect(first.state).toBe('down');
    expect(first.errors.open_failed).toBe(1);
    expect(first.lastError).toMatch(/^open_failed: /);
    const t0 = performance.now();
    while ((driver.health().errors.open_failed ?? 0) < 3 && performance.now() - t0 < 2000)
      await new Promise((r) => setTimeout(r, 5));
    expect(driver.health().errors.open_failed).toBeGreaterThanOrEqual(3);
    await driver.stop();
  });

  it('builds the variant the config names', () => {
    const base = { port: '/dev/null' };
    const configs: DriverConfig[] = [
      {
        ...base,
        driver: 'modbus-rtu',
        sensors: [{ id: 't', kind: 'tilt', unit: 1, model: 'inclinometer-generic' }],
      },
      {
        ...base,
        driver: 'sdi12',
        sensors: [{ id: 'p', kind: 'pore_pressure', address: '0', fields: ['kpa'] }],
      },
      { ...base, driver: 'line', id: 'nodes', sensors: [{ id: 'd', kind: 'displacement', node: 'n1' }] },
    ];
    expect(configs.map((c) => createDriver(c).id)).toEqual([
      'modbus-rtu:/dev/null',
      'sdi12:/dev/null',
      'nodes',
    ]);
  });
});

describe('checkDriverConfig', () => {
  it('accepts a valid block and lists the errors of a bad one', () => {
    expect(
      checkDriverConfig({
        driver: 'sdi12',
        port: '/dev/ttyUSB0',
        sensors: [{ id: 'p', kind: 'pore_pressure', address: '3', fields: ['kpa'] }],
      }).ok,
    ).toBe(true);
    const bad = checkDriverConfig({
      driver: 'modbus-rtu',
      port: '',
      baudRate: 'fast',
      sensors: [{ id: 'T', kind: 'tilt', unit: 300, model: 'x' }],
    });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.errors.length).toBeGreaterThan(0);
  });
});
