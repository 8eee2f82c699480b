import { siteConfig } from '@slopeguard/core/engine/index.ts';
import { SITE_SENSORS } from './heavy-rain.ts';
import { extensometer, HOUR, MIN, rainGauge, tiltmeter, withFaults } from './models.ts';
import { makeRun } from './run.ts';
import type { InjectedFault, Scenario } from './types.ts';

/** A nominal date: 3 March 2025, 00:00 KST. */
const DEFAULT_START = Date.UTC(2025, 2, 2, 15);
const DAY = 24 * HOUR;

export const sensorFaults: Scenario = {
  name: 'sensor-faults',
  title: 'Dry week with sensor faults (stuck, spike, step, drift, dropout, out of range)',
  intervalMs: 10 * MIN,
  create(options = {}) {
    const start = options.start ?? DEFAULT_START;
    const noise = { seed: options.seed ?? 1, origin: start };
    const at = (day: number, h: number) => start + day * DAY + h * HOUR;
    const faults: InjectedFault[] = [
      { sensor: 'tilt-1', kind: 'stuck', from: at(1, 6), to: at(1, 18), size: 0 },
      { sensor: 'ext-1', kind: 'spike', from: at(2, 10), to: at(2, 10), size: 30 },
      { sensor: 'ext-1', kind: 'spike', from: at(2, 14), to: at(2, 14), size: -20 },
      { sensor: 'ext-2', kind: 'step', from: at(3, 9), to: Number.POSITIVE_INFINITY, size: 8 },
      { sensor: 'tilt-2', kind: 'drift', from: at(4, 0), to: Number.POSITIVE_INFINITY, size: 0.0004 },
      { sensor: 'ext-1', kind: 'dropout', from: at(5, 2), to: at(5, 8), size: 0 },
      { sensor: 'rain-1', kind: 'out_of_range', from: at(6, 12), to: at(6, 12), size: 999 },
    ];
    const still = () => 0;
    return makeRun({
      name: sensorFaults.name,
      title: sensorFaults.title,
      description:
        'A still, dry slope for a week while the sensors misbehave one at a time. Health must show ' +
        'each fault; no fault alone may raise the site above level 1.',
      config: siteConfig({ id: 'sensor-faults', sensors: SITE_SENSORS }),
      models: [
        rainGauge('rain-1', []),
        rainGauge('rain-2', []),
        tiltmeter('tilt-1', 1, noise, [0.2, 0.3], 0.4, still),
        tiltmeter('tilt-2', 2, noise, [-0.8, 1.1], 1.9, still),
        extensometer('ext-1', 3, noise, 55.5, still),
        extensometer('ext-2', 4, noise, 23.1, still),
      ].map((m) => withFaults(m, faults)),
      start,
      end: start + 7 * DAY,
      intervalMs: options.intervalMs ?? sensorFaults.intervalMs,
      failureAt: null,
      faults,
      expectations: [
        { kind: 'never-above', maxLevel: 1, text: 'no fault alone raises the site above level 1' },
      ],
    });
  },
};
