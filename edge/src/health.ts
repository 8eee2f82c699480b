import { readFileSync, statfsSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import type { Status } from '@slopeguard/core';
import type { DriverHealth } from '@slopeguard/firmware-bridge/driver.ts';
import type { QueueStats } from './queue/queue.ts';

/** The first thermal zone is the SoC on a Raspberry Pi; boards without one report nothing. */
const THERMAL = '/sys/class/thermal/thermal_zone0/temp';

export function cpuTempC(path = THERMAL): number | undefined {
  try {
    const milli = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : undefined;
  } catch {
    return undefined;
  }
}

export function disk(path: string): { freeBytes: number; totalBytes: number } | undefined {
  try {
    const s = statfsSync(path);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return undefined;
  }
}

export interface StatusInput {
  ts: number;
  version: string;
  startedAt: number;
  dataDir: string;
  queue: QueueStats;
  sensors: Record<string, DriverHealth>;
  level: NonNullable<Status['level']>;
  outputs: NonNullable<Status['outputs']>;
  uplink: { sentReadings: number };
  /** The rule engine's health per sensor (ok, stale, stuck, spiking, ...). */
  sensorHealth: NonNullable<Status['sensorHealth']>;
  readings: { accepted: number; rejected: number };
  /** The gateway's clock against the broker's; absent until the broker's first tick. */
  clock?: Status['clock'];
}

/** The retained `status` payload, typed by core's closed Status schema. */
export function buildStatus(i: StatusInput): Status {
  const mem = process.memoryUsage();
  // Supply voltage where a driver (or one of its sensors) reports one; the lowest is the one to watch.
  const supplies = Object.values(i.sensors)
    .flatMap((h) => [h.supplyV, ...Object.values(h.sensors ?? {}).map((s) => s.supplyV)])
    .filter((v): v is number => typeof v === 'number');
  const temp = cpuTempC();
  return {
    state: 'online',
    ts: i.ts,
    version: i.version,
    uptimeS: Math.round((Date.now() - i.startedAt) / 1000),
    level: i.level,
    queue: {
      durable: i.queue.durable,
      depth: i.queue.depth,
      oldestTs: i.queue.oldestTs,
      dropped: i.queue.dropped,
      events: i.queue.events,
      inflightBatches: i.queue.inflightBatches,
      nextSeq: i.queue.nextSeq,
      dbBytes: i.queue.dbBytes,
    },
    sensors: i.sensors,
    sensorHealth: i.sensorHealth,
    readings: i.readings,
    ...(i.clock ? { clock: i.clock } : {}),
    outputs: i.outputs,
    uplink: i.uplink,
    disk: disk(i.dataDir) ?? null,
    memory: {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      systemFreeBytes: freemem(),
      systemTotalBytes: totalmem(),
    },
    ...(temp !== undefined ? { cpuTempC: temp } : {}),
    ...(supplies.length > 0 ? { supplyV: Math.min(...supplies) } : {}),
  };
}
