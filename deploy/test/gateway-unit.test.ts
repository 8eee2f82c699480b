import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { type AttachedDevice, attachToPath } from '@slopeguard/simulators/devices/device.ts';
import { ModbusSlave } from '@slopeguard/simulators/devices/modbus-slave.ts';
import { type PtyPair, startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertRunning,
  kill,
  type TestBroker,
  tempDir,
  testBroker,
  waitFor,
  writeConfig,
} from '../../edge/test/helpers.ts';
import { buildGateway } from '../build-gateway.ts';
import { EDGE_UNIT, gatewayCommand, parseUnit, ROOT } from '../unit-file.ts';

/**
 * The gateway as deploy/systemd/slopeguard-edge.service runs it on a Pi: the prebuilt bundle, the
 * unit's Node flags (--jitless: no JIT, so no WebAssembly either) and environment. The bundle is
 * built by the test into its own directory under dist/ (the native serial binding resolves from
 * the checkout's node_modules, as it does from /opt/slopeguard/node_modules).
 */
describe('the gateway as its systemd unit starts it', () => {
  const tmp = tempDir('unit');
  const bundleDir = join(ROOT, 'dist', `gateway-test-${process.pid}`);
  let broker: TestBroker | undefined;
  let child: ChildProcess | undefined;
  let pty: PtyPair | undefined;
  let device: AttachedDevice | undefined;

  beforeAll(async () => {
    await buildGateway(bundleDir);
  }, 60_000);

  afterAll(async () => {
    if (child) await kill(child, 'SIGKILL');
    await device?.close();
    await pty?.stop();
    await broker?.close();
    rmSync(bundleDir, { recursive: true, force: true });
    tmp.cleanup();
  });

  const validConfig = (dataDir: string, url: string, drivers: object[]) => ({
    site: 'unit-site',
    gateway: 'gw-unit',
    dataDir,
    uplink: { url, batchIntervalMs: 200 },
    queue: { commitIntervalMs: 100 },
    drivers,
  });

  it('ExecStartPre (--check) accepts a valid config and refuses an invalid one with exit 78', () => {
    expect(parseUnit(readFileSync(EDGE_UNIT, 'utf8')).execStartPre).toHaveLength(1);
    const pre = (config: string) => {
      const cmd = gatewayCommand(config, { bundleDir, line: 'ExecStartPre' });
      expect(cmd.args).toContain('--check');
      return spawnSync(cmd.command, cmd.args, { env: { ...process.env, ...cmd.env }, encoding: 'utf8' });
    };
    const synthetic = [{ driver: 'synthetic', id: 'syn', sensors: [{ id: 's1', kind: 'tilt' }] }];
    const good = writeConfig(
      tmp.dir,
      'good.yaml',
      validConfig(join(tmp.dir, 'd0'), 'mqtt://127.0.0.1:1883', synthetic),
    );
    const ok = pre(good);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok (site unit-site, gateway gw-unit');

    const bad = writeConfig(tmp.dir, 'bad.yaml', {
      ...validConfig(join(tmp.dir, 'd1'), 'http://wrong', synthetic),
      gateway: 'GW 1',
    });
    const refused = pre(bad);
    expect(refused.status).toBe(78);
    expect(refused.stderr).toContain('/gateway');
    expect(refused.stderr).toContain('/uplink/url');
  });

  it('reads a Modbus inclinometer on a pty and stores exactly what it served', async () => {
    broker = await testBroker(tmp.dir);
    pty = await startPtyPair();
    let served = 0;
    const slave = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('inclinometer-generic'),
        source: () => ({ x: ++served / 100, y: -0.5, temp_c: 21.5, supply_v: 12.05 }),
      },
    ]);
    device = await attachToPath(slave, { path: pty.b, baudRate: 19200, parity: 'even' });
    const dataDir = join(tmp.dir, 'data');
    const config = writeConfig(
      tmp.dir,
      'gateway.yaml',
      validConfig(dataDir, broker.url, [
        {
          driver: 'modbus-rtu',
          id: 'rs485',
          port: pty.a,
          baudRate: 19200,
          sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 200 }],
        },
      ]),
    );
    const cmd = gatewayCommand(config, { bundleDir });
    expect(cmd.args).toContain('--jitless');
    const log = join(tmp.dir, 'edge.log');
    const out = openSync(log, 'a');
    child = spawn(cmd.command, cmd.args, {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...cmd.env, SLOPEGUARD_MQTT_PASSWORD: '' },
    });
    const b = broker;
    await waitFor('ten readings stored', () => {
      assertRunning(child, log);
      return b.offered.filter((r) => r.sensor === 'tilt-1').length >= 10;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${readFileSync(log, 'utf8').slice(-3000)}`);
    });
    await device.close();
    device = undefined;
    let last = -1;
    await waitFor(
      'store settled',
      () => {
        const settled = b.offered.length === last;
        last = b.offered.length;
        return settled;
      },
      10_000,
      600,
    );
    expect(await kill(child, 'SIGTERM')).toBe(0);
    child = undefined;
    const xs = [...new Map(b.offered.map((r) => [r.ts, r.values.x])).values()];
    // Every value the device served, once and in order (the last may be lost in flight at unplug).
    expect([served - 1, served]).toContain(xs.length);
    expect(xs).toEqual(Array.from({ length: xs.length }, (_, i) => (i + 1) / 100));
  }, 60_000);

  // The machine's own Node (Debian's /usr/bin/node) is older than 24 here and in CI; on a machine
  // where it is not, or where there is none, there is nothing to check.
  const systemNode = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const oldNode = systemNode.status === 0 && Number(systemNode.stdout.split('.')[0]) < 24;
  it.skipIf(!oldNode)('an older Node (/usr/bin/node, when older than 24) gets one line and exit 1', () => {
    const r = spawnSync('/usr/bin/node', [join(bundleDir, 'slopeguard-edge.mjs'), '--help'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^slopeguard-edge needs Node.js 24 or newer \(this is v\d+/);
  });

  it('parseUnit refuses quoting it would misread', () => {
    expect(() => parseUnit('[Service]\nExecStart=/bin/node "a b"\n')).toThrow(/quoting/);
    expect(() => parseUnit('[Service]\nUser=x\n')).toThrow(/no ExecStart/);
    expect(parseUnit('[Service]\nEnvironment=A=1=2\nExecStart=/bin/x -y\n')).toEqual({
      environment: { A: '1=2' },
      execStart: ['/bin/x', '-y'],
      execStartPre: [],
    });
  });
});
