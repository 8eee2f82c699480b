import type { SensorHealth } from '@slopeguard/core/engine/index.ts';
import { describe, expect, it } from 'vitest';
import { dataStateOf } from '../src/site-state.ts';

const health = (status: SensorHealth['status']): SensorHealth => ({
  status,
  healthy: status === 'ok',
  since: 0,
  lastTs: status === 'waiting' ? null : 0,
  intervalMs: 60_000,
  readings: 0,
  spikes: 0,
  steps: 0,
  outOfOrder: 0,
  outOfRange: 0,
  future: 0,
  heldTs: null,
  unconfirmed: 0,
  level: 0,
});
const kinds = new Map([
  ['tilt-1', 'tilt' as const],
  ['rain-1', 'rain' as const],
]);
const online = {
  id: 'gw-1',
  state: 'online' as const,
  lastSeen: 1_000,
  seqGaps: 0,
  futureReadings: 0,
  clockFault: false,
};
const base = { now: 2_000, kinds, sensors: [], gatewaySilenceMs: 180_000, fallbackStaleMs: 180_000 };

describe('data state rules', () => {
  it('no_data when the only movement sensor is stale, even with a healthy rain gauge', () => {
    const r = dataStateOf({
      ...base,
      gateways: [online],
      health: { 'tilt-1': health('stale'), 'rain-1': health('ok') },
    });
    expect(r).toEqual({ state: 'no_data', reasons: ['sensor tilt-1 stale', 'no healthy movement sensor'] });
  });
  it('no_data while a gateway replays old readings that look current to the engine', () => {
    // The engine's clock is the newest reading's time, so a replayed backlog looks fresh to it; on
    // the control center's clock the newest reading is 2 h old (more than 3 intervals of 1 min).
    const old = { ...health('ok'), lastTs: 2_000 - 7_200_000 };
    const r = dataStateOf({ ...base, gateways: [online], health: { 'tilt-1': old, 'rain-1': old } });
    expect(r).toEqual({
      state: 'no_data',
      reasons: [
        'sensor tilt-1 behind (last reading 2 h ago)',
        'sensor rain-1 behind (last reading 2 h ago)',
        'no healthy movement sensor',
      ],
    });
    // Within 3 intervals of the clock it is live; a fourth interval makes it behind (staleIntervals).
    const recent = { ...health('ok'), lastTs: 2_000 - 180_000 };
    expect(dataStateOf({ ...base, gateways: [online], health: { 'tilt-1': recent } }).state).toBe('live');
    expect(
      dataStateOf({ ...base, gateways: [online], health: { 'tilt-1': recent }, staleIntervals: 2 }).state,
    ).toBe('no_data');
  });
  it('degraded, not no_data, while a sensor still waits for its first reading', () => {
    const r = dataStateOf({
      ...base,
      gateways: [online],
      health: { 'tilt-1': health('waiting'), 'rain-1': health('ok') },
    });
    expect(r.state).toBe('degraded');
  });
  it('no_data when every gateway is offline or silent; degraded when one of two is', () => {
    const silent = { ...online, id: 'gw-2', lastSeen: 2_000 - 180_001 };
    const offline = { ...online, state: 'offline' as const };
    const h = { 'tilt-1': health('ok'), 'rain-1': health('ok') };
    expect(dataStateOf({ ...base, gateways: [offline, silent], health: h })).toEqual({
      state: 'no_data',
      reasons: ['gateway gw-1 offline', 'gateway gw-2 silent (no message)'],
    });
    expect(dataStateOf({ ...base, gateways: [online, silent], health: h }).state).toBe('degraded');
    expect(dataStateOf({ ...base, gateways: [online], health: h })).toEqual({ state: 'live', reasons: [] });
  });
});
