import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { type PtyPair, startPtyPair } from '../serial/socat.ts';
import { type AttachedDevice, attachToPath, type Faults, type VirtualDevice } from './device.ts';
import { LineNode } from './line-node.ts';
import { ModbusSlave } from './modbus-slave.ts';
import { type ScenarioDeviceInput, scenarioDevices } from './scenario-devices.ts';
import { Sdi12Sensor } from './sdi12-sensor.ts';
import { seededSignal } from './signal.ts';

export type DeviceProtocol = 'modbus' | 'sdi12' | 'line';

export interface RunDeviceOptions {
  protocol: DeviceProtocol;
  /** Serial path for the device end; without it a socat pty pair is made and its other end printed. */
  port?: string;
  baudRate?: number;
  seed?: number;
  /** Modbus: unit -> register map model. Default 1 = inclinometer-generic, 2 = rain-counter-generic. */
  units?: ReadonlyArray<readonly [number, string]>;
  /** Line: node id and send interval. */
  node?: string;
  intervalMs?: number;
  faults?: Partial<Faults>;
  /**
   * Drive the device from a scenario run instead of the seeded signal: its sensors (with their ids)
   * become the device's, and scenario time runs `speed` times faster than real time from now on.
   */
  scenario?: { run: ScenarioDeviceInput; speed?: number };
}

export interface RunningDevice {
  /** The path the gateway should open. */
  readonly gatewayPort: string;
  /** A driver config block for gateway.yaml that reads this device. */
  readonly driverConfig: Record<string, unknown>;
  readonly attached: AttachedDevice;
  /** Scenario sensors the protocol could not carry (Modbus has shipped maps for tilt and rain only). */
  readonly skipped: readonly string[];
  stop(): Promise<void>;
}

const SERIAL: Record<DeviceProtocol, { baudRate: number; dataBits: 7 | 8; parity: 'none' | 'even' }> = {
  modbus: { baudRate: 9600, dataBits: 8, parity: 'even' },
  sdi12: { baudRate: 1200, dataBits: 7, parity: 'even' },
  line: { baudRate: 115200, dataBits: 8, parity: 'none' },
};

/**
 * Runs one virtual device until stop(): the body of `slopeguard sim device`. Values come from a
 * scenario run when one is given, otherwise from the seeded signal.
 */
export async function runVirtualDevice(o: RunDeviceOptions): Promise<RunningDevice> {
  const seed = o.seed ?? 1;
  const serial = { ...SERIAL[o.protocol], ...(o.baudRate ? { baudRate: o.baudRate } : {}) };
  const { device, driverConfig, skipped } = o.scenario
    ? await scenarioDevices(o.protocol, o.scenario.run, {
        anchor: Date.now(),
        speed: o.scenario.speed ?? 1,
        ...(o.node ? { node: o.node } : {}),
        ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
      })
    : { ...(await build(o, seed)), skipped: [] };
  let pair: PtyPair | undefined;
  let devicePath = o.port;
  if (devicePath === undefined) {
    pair = await startPtyPair({ names: ['gateway', 'device'] });
    devicePath = pair.b;
  }
  const gatewayPort = pair?.a ?? devicePath;
  const attached = await attachToPath(device, {
    path: devicePath,
    ...serial,
    seed,
    ...(o.faults ? { faults: o.faults } : {}),
  });
  return {
    gatewayPort,
    driverConfig: { ...driverConfig, port: gatewayPort, baudRate: serial.baudRate },
    attached,
    skipped,
    async stop() {
      await attached.close();
      await pair?.stop();
    },
  };
}

async function build(
  o: RunDeviceOptions,
  seed: number,
): Promise<{ device: VirtualDevice; driverConfig: Record<string, unknown> }> {
  switch (o.protocol) {
    case 'modbus': {
      const units = o.units ?? [
        [1, 'inclinometer-generic'],
        [2, 'rain-counter-generic'],
      ];
      const slaves = [];
      const sensors = [];
      for (const [unit, model] of units) {
        const map = await loadRegisterMap(model);
        slaves.push({ unit, map, source: seededSignal(map.kind, seed + unit) });
        sensors.push({ id: `${map.kind.replace('_', '-')}-${unit}`, kind: map.kind, unit, model });
      }
      return {
        device: new ModbusSlave(slaves),
        driverConfig: { driver: 'modbus-rtu', intervalMs: 10_000, sensors },
      };
    }
    case 'sdi12': {
      const specs = [
        { address: '1', kind: 'rain', fields: ['total_mm'] },
        { address: '3', kind: 'pore_pressure', fields: ['kpa'] },
        { address: '5', kind: 'soil_moisture', fields: ['vwc'] },
      ] as const;
      const rain = seededSignal('rain', seed + 1);
      const sources = {
        rain: (t: number) => ({ total_mm: (rain(t).count ?? 0) * 0.2 }),
        pore_pressure: seededSignal('pore_pressure', seed + 3),
        soil_moisture: seededSignal('soil_moisture', seed + 5),
      };
      const sensors = specs.map(
        (s) =>
          new Sdi12Sensor({
            address: s.address,
            fields: s.fields,
            source: sources[s.kind],
            seconds: 1,
            serviceAfterMs: 50,
          }),
      );
      const bus: VirtualDevice = {
        attach: (send) => {
          for (const s of sensors) s.attach(send);
        },
        receive: (chunk) => {
          for (const s of sensors) s.receive(chunk);
        },
        detach: () => {
          for (const s of sensors) s.detach();
        },
      };
      return {
        device: bus,
        driverConfig: {
          driver: 'sdi12',
          intervalMs: 60_000,
          sensors: specs.map((s) => ({
            id: `${s.kind.replace('_', '-')}-${s.address}`,
            kind: s.kind,
            address: s.address,
            fields: s.fields,
            crc: true,
          })),
        },
      };
    }
    case 'line': {
      const node = o.node ?? 'n1';
      const rain = seededSignal('rain', seed + 2);
      const device = new LineNode({
        node,
        intervalMs: o.intervalMs ?? 1000,
        supplyV: 3.7,
        sensors: [
          { name: 'tilt-a', kind: 'tilt', source: seededSignal('tilt', seed + 1) },
          { name: 'rg', kind: 'rain', source: (t) => ({ count: rain(t).count ?? 0 }) },
          { name: 'ext', kind: 'displacement', source: seededSignal('displacement', seed + 3) },
        ],
      });
      return {
        device,
        driverConfig: {
          driver: 'line',
          sensors: [
            { id: `${node}-tilt`, kind: 'tilt', node, name: 'tilt-a' },
            { id: `${node}-rain`, kind: 'rain', node, name: 'rg' },
            { id: `${node}-ext`, kind: 'displacement', node, name: 'ext' },
          ],
        },
      };
    }
  }
}
