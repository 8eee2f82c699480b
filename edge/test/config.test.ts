import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '@slopeguard/edge/config/load.ts';
import { SHIPPED_MAPS_DIR } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, NODE, ROOT, tempDir } from './helpers.ts';

const minimal = `
site: s-1
gateway: gw-1
uplink: { url: "mqtt://127.0.0.1:1883" }
drivers:
  - { driver: synthetic, id: syn, sensors: [{ id: t-1, kind: tilt }] }
`;

describe('gateway config', () => {
  const tmp = tempDir('config');
  afterAll(() => tmp.cleanup());

  it('fills the documented defaults', () => {
    const r = parseConfig(minimal);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.config.uplink).toMatchObject({
      clientId: 's-1.gw-1',
      keepaliveS: 60,
      batchMaxReadings: 500,
      backlogRatePerS: 1000,
    });
    expect(r.config.queue).toMatchObject({
      path: '/var/lib/slopeguard/queue.db',
      synchronous: 'FULL',
      policy: 'drop-oldest',
    });
    expect(r.config.sampling).toEqual({ fastAtLevel: 2, fastIntervalMs: 10_000 });
    expect(r.config.outputs).toEqual([]);
  });

  it('takes secrets from the environment over the file', () => {
    const r = parseConfig(`${minimal}\n`, {
      SLOPEGUARD_MQTT_PASSWORD: 's3cret',
      SLOPEGUARD_MQTT_USERNAME: 'gw',
    });
    expect(r.ok && r.config.uplink).toMatchObject({ password: 's3cret', username: 'gw' });
  });

  it('refuses a broker URL with credentials, a path or no host, naming the key', () => {
    const withUrl = (url: string) => parseConfig(minimal.replace('mqtt://127.0.0.1:1883', url));
    const errors = (url: string) => {
      const r = withUrl(url);
      return r.ok ? [] : r.errors;
    };
    expect(errors('mqtt://gw:secret@10.0.0.1')).toEqual([
      '/uplink/url: no credentials in the URL; use uplink.username and SLOPEGUARD_MQTT_PASSWORD',
    ]);
    expect(errors('mqtts://broker:8883/mqtt')).toEqual([
      '/uplink/url: only mqtt(s)://host:port, without a path or query',
    ]);
    expect(errors('mqtt://:1883')[0]).toMatch(/^\/uplink\/url: /);
    expect(withUrl('mqtts://[::1]:8883').ok).toBe(true);
    expect(withUrl('mqtt://broker.example.org/').ok).toBe(true);
  });

  it('reads the password from passwordFile', () => {
    const file = join(tmp.dir, 'pw');
    writeFileSync(file, 'from-file\n');
    const r = parseConfig(
      minimal.replace('mqtt://127.0.0.1:1883" }', `mqtt://127.0.0.1:1883", passwordFile: "${file}" }`),
    );
    expect(r.ok && r.config.uplink.password).toBe('from-file');
  });

  it('embeds the firmware-bridge driver schemas and checks inside them', () => {
    const r = parseConfig(`${minimal}
  - driver: sdi12
    port: /dev/ttyUSB0
    sensors: [{ id: vwc-1, kind: soil_moisture, address: "0", fields: [vwc], adress: "1" }]
`);
    expect(r.ok ? [] : r.errors).toEqual(['/drivers/1/sensors/0/adress: Unexpected property']);
  });

  it('reports duplicate ids, which the schema cannot', () => {
    const r = parseConfig(`${minimal}
  - { driver: synthetic, id: syn, sensors: [{ id: t-1, kind: tilt }] }
`);
    expect(r.ok ? [] : r.errors).toEqual([
      '/drivers/1/id: duplicate driver id "syn" (also /drivers/0)',
      '/drivers/1/sensors/0/id: duplicate sensor id "t-1" (also /drivers/0/sensors/0)',
    ]);
  });

  // Acceptance 2: a sensor naming a register map that does not exist is refused, with its path.
  it('refuses a Modbus sensor whose register map is missing, invalid or of another kind', () => {
    const mine = join(tmp.dir, 'maps');
    mkdirSync(mine, { recursive: true });
    writeFileSync(join(mine, 'my-tilt.yaml'), 'model: my-tilt\nkind: tilt\nfunction: 4\nfields: []\n');
    writeFileSync(
      join(mine, 'my-ext.yaml'),
      'model: my-ext\nkind: displacement\nfunction: 3\nfields: [{ name: mm, address: 0, type: uint16 }]\n',
    );
    const r = parseConfig(`${minimal}
  - driver: modbus-rtu
    port: /dev/ttyUSB0
    mapsDir: ${mine}
    sensors:
      - { id: tilt-9, kind: tilt, unit: 1, model: generic-tilt }
      - { id: tilt-8, kind: tilt, unit: 2, model: my-tilt }
      - { id: ext-8, kind: displacement, unit: 3, model: my-ext }
      - { id: ext-9, kind: displacement, unit: 4, model: inclinometer-generic }
      - { id: piezo-9, kind: pore_pressure, unit: 5, model: piezometer-4-20ma-logger }
`);
    const errors = r.ok ? [] : r.errors;
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBe(
      `/drivers/1/sensors/0/model: no register map for model generic-tilt in ${mine}, ${SHIPPED_MAPS_DIR}`,
    );
    expect(errors[1]).toMatch(
      new RegExp(`^/drivers/1/sensors/1/model: ${join(mine, 'my-tilt.yaml')}: .*fields`),
    );
    expect(errors[2]).toBe(
      '/drivers/1/sensors/3/model: register map inclinometer-generic gives tilt readings, the sensor is displacement',
    );
  });

  it('refuses YAML syntax errors and a non-mapping document', () => {
    expect(parseConfig('site: [unclosed').ok).toBe(false);
    expect(parseConfig('- a\n- b\n')).toEqual({
      ok: false,
      errors: ['/: the config must be a YAML mapping'],
    });
  });

  // Acceptance 5: the CLI refuses an invalid file, lists every error with its path, exits non-zero.
  it('slopeguard edge refuses an invalid config with every error listed and exit code 78', () => {
    const file = join(tmp.dir, 'bad.yaml');
    writeFileSync(
      file,
      `site: Bad Site
gateway: gw-01
uplink:
  url: http://broker
  batchMaxReadings: 5000
  passwrd: hunter2
queue: { policy: keep-everything }
drivers:
  - driver: synthetic
    id: syn
    sensors: [{ id: s1, kind: tilt, intervalMs: 5 }]
  - driver: modbus-rtu
    port: /dev/ttyUSB0
    sensors: [{ id: t1, kind: tilt, unit: 300, model: x, intervalMS: 10 }]
  - { driver: lora, id: x }
outputs:
  - { kind: gpio, id: siren, atLevel: 5 }
engine: { rules: { holdDown: { hours: -1 } } }
`,
    );
    const r = spawnSync(NODE, [CLI, 'edge', '--config', file], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(78);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  /'));
    expect(lines.map((l) => l.trim())).toEqual([
      "/site: Expected string to match '^[a-z0-9][a-z0-9-]{0,62}$'",
      '/uplink/passwrd: Unexpected property',
      "/uplink/url: Expected string to match '^mqtts?://[^\\s]+$'",
      '/uplink/batchMaxReadings: Expected integer to be less or equal to 1000',
      '/queue/policy: must be one of "drop-oldest", "refuse-new"',
      '/drivers/0/sensors/0/intervalMs: Expected integer to be greater or equal to 10',
      '/drivers/1/sensors/0/intervalMS: Unexpected property',
      '/drivers/1/sensors/0/unit: Expected integer to be less or equal to 247',
      '/drivers/2/driver: must be one of "synthetic", "scenario", "mqtt", "modbus-rtu", "sdi12", "line"',
      '/outputs/0/line: Expected required property',
      '/outputs/0/atLevel: Expected integer to be less or equal to 4',
      '/engine/rules/holdDown/hours: Expected number to be greater than 0',
    ]);
    expect(r.stderr).toContain('(12 errors)');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('--check accepts the shipped example config', () => {
    const example = join(ROOT, 'deploy/gateway.example.yaml');
    const r = spawnSync(NODE, [CLI, 'edge', '--config', example, '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // It names shipped maps, so the check above looked them up; and --check would fail on one that
    // does not exist (the test above), so a renamed map breaks this test.
    const models = [...readFileSync(example, 'utf8').matchAll(/model: ([a-z0-9-]+)/g)].map((m) => m[1]);
    expect(models).toEqual([
      'inclinometer-generic',
      'extensometer-wire-generic',
      'crack-meter-generic',
      'piezometer-4-20ma-logger',
      'rain-counter-generic',
    ]);
  });

  it('--check fails on the example config with a map renamed, naming the sensor path', () => {
    const file = join(tmp.dir, 'renamed.yaml');
    const text = readFileSync(join(ROOT, 'deploy/gateway.example.yaml'), 'utf8');
    writeFileSync(file, text.replace('model: crack-meter-generic', 'model: crack-meter-acme'));
    const r = spawnSync(NODE, [CLI, 'edge', '--config', file, '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('(1 error)');
    expect(r.stderr).toContain(
      '  /drivers/0/sensors/2/model: no register map for model crack-meter-acme in ',
    );
  });
});
