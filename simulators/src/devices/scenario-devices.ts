import { KIND_FIELDS, type SensorKind } from '@slopeguard/core';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import type { VirtualDevice } from './device.ts';
import { LineNode } from './line-node.ts';
import { ModbusSlave } from './modbus-slave.ts';
import { type ScenarioLike, scenarioSource } from './scenario-source.ts';
import { Sdi12Sensor } from './sdi12-sensor.ts';

/** A scenario run as far as devices need it: its sensors, start and values (ScenarioRun fits). */
export interface ScenarioDeviceInput extends ScenarioLike {
  readonly sensors: readonly { id: string; kind: SensorKind }[];
}

export interface BuiltDevice {
  device: VirtualDevice;
  driverConfig: Record<string, unknown>;
  /** Scenario sensors this protocol cannot carry with the shipped maps. */
  skipped: string[];
}

/** Modbus register maps shipped per kind (no shipped map for the other kinds). */
const MODBUS_MAPS: Partial<Record<SensorKind, string>> = {
  tilt: 'inclinometer-generic',
  rain: 'rain-counter-generic',
};
const SDI12_ADDRESSES = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Virtual devices for the sensors of a scenario, one bus per protocol, with driver sensor ids equal
 * to the scenario's, so that the site config of the scenario applies to what the gateway reads.
 * `anchor` (real ms) is the moment that corresponds to the scenario's start; `speed` scenario ms per
 * real ms.
 */
export async function scenarioDevices(
  protocol: 'modbus' | 'sdi12' | 'line',
  run: ScenarioDeviceInput,
  o: { anchor: number; speed: number; node?: string; intervalMs?: number },
): Promise<BuiltDevice> {
  const timing = { anchor: o.anchor, speed: o.speed };
  if (protocol === 'modbus') {
    const slaves = [];
    const sensors = [];
    const skipped: string[] = [];
    let unit = 1;
    for (const s of run.sensors) {
      const model = MODBUS_MAPS[s.kind];
      if (!model) {
        skipped.push(s.id);
        continue;
      }
      const map = await loadRegisterMap(model);
      const mmPerCount = map.counter?.mmPerCount ?? 0.2;
      slaves.push({
        unit,
        map,
        source: scenarioSource(run, s.id, { ...timing, kind: s.kind, rain: { as: 'count', mmPerCount } }),
      });
      sensors.push({ id: s.id, kind: s.kind, unit, model });
      unit++;
    }
    return { device: new ModbusSlave(slaves), driverConfig: { driver: 'modbus-rtu', sensors }, skipped };
  }
  if (protocol === 'sdi12') {
    const list = run.sensors.slice(0, SDI12_ADDRESSES.length).map((s, i) => {
      const address = SDI12_ADDRESSES[i] as string;
      const fields = s.kind === 'rain' ? ['total_mm'] : [...KIND_FIELDS[s.kind]];
      const source = scenarioSource(run, s.id, { ...timing, kind: s.kind, rain: { as: 'total_mm' } });
      return {
        cfg: { id: s.id, kind: s.kind, address, fields, crc: true },
        sensor: new Sdi12Sensor({ address, fields, source, decimals: 4 }),
      };
    });
    const bus: VirtualDevice = {
      attach: (send) => {
        for (const x of list) x.sensor.attach(send);
      },
      receive: (chunk) => {
        for (const x of list) x.sensor.receive(chunk);
      },
      detach: () => {
        for (const x of list) x.sensor.detach();
      },
    };
    return {
      device: bus,
      driverConfig: { driver: 'sdi12', sensors: list.map((x) => x.cfg) },
      skipped: run.sensors.slice(list.length).map((s) => s.id),
    };
  }
  const node = o.node ?? 'n1';
  const device = new LineNode({
    node,
    intervalMs: o.intervalMs ?? 1000,
    sensors: run.sensors.map((s) => ({
      name: s.id,
      kind: s.kind,
      source: scenarioSource(run, s.id, { ...timing, kind: s.kind, rain: { as: 'count', mmPerCount: 0.2 } }),
    })),
  });
  const sensors = run.sensors.map((s) => ({
    id: s.id,
    kind: s.kind,
    node,
    name: s.id,
    ...(s.kind === 'rain' ? { counter: { mmPerCount: 0.2 } } : {}),
  }));
  return { device, driverConfig: { driver: 'line', sensors }, skipped: [] };
}
