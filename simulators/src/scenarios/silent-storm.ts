import { siteConfig } from '@slopeguard/core/engine/index.ts';
import { SITE_SENSORS, STORM_HOURLY } from './heavy-rain.ts';
import { extensometer, HOUR, hourly, MIN, rainGauge, tiltmeter, withFaults } from './models.ts';
import { makeRun } from './run.ts';
import type { InjectedFault, Scenario } from './types.ts';

/** A nominal date: 10 August 2022, 00:00 KST. */
const DEFAULT_START = Date.UTC(2022, 7, 9, 15);

export const silentStorm: Scenario = {
  name: 'silent-storm',
  title: 'Storm during which every movement sensor goes silent',
  intervalMs: 10 * MIN,
  create(options = {}) {
    const start = options.start ?? DEFAULT_START;
    const noise = { seed: options.seed ?? 1, origin: start };
    const rainFrom = start + 12 * HOUR;
    const silentFrom = rainFrom + 5 * HOUR;
    const rainTo = rainFrom + STORM_HOURLY.length * HOUR;
    const end = rainTo + 24 * HOUR;
    const faults: InjectedFault[] = ['tilt-1', 'tilt-2', 'ext-1', 'ext-2'].map((sensor) => ({
      sensor,
      kind: 'dropout',
      from: silentFrom,
      to: end + 1,
      size: 0,
    }));
    const still = () => 0;
    return makeRun({
      name: silentStorm.name,
      title: silentStorm.title,
      description:
        'The monsoon storm of heavy-rain-stable; five hours in, the sensor bus loses power and every ' +
        'tilt sensor and extensometer falls silent for good. The rain gauges keep reporting. Silence ' +
        'must never look normal: "no data" while it rains.',
      config: siteConfig({ id: 'silent-storm', sensors: SITE_SENSORS }),
      models: [
        rainGauge('rain-1', hourly(rainFrom, STORM_HOURLY)),
        rainGauge(
          'rain-2',
          hourly(
            rainFrom,
            STORM_HOURLY.map((mm) => mm * 0.9),
          ),
        ),
        tiltmeter('tilt-1', 1, noise, [0.3, 0.1], 0.2, still),
        tiltmeter('tilt-2', 2, noise, [1.0, -0.4], 1.2, still),
        extensometer('ext-1', 3, noise, 30, still),
        extensometer('ext-2', 4, noise, 31, still),
      ].map((m) => withFaults(m, faults)),
      start,
      end,
      intervalMs: options.intervalMs ?? silentStorm.intervalMs,
      failureAt: null,
      faults,
      expectations: [
        {
          kind: 'reason',
          rule: 'no_data',
          text: 'a level change names "no data" while the sensors are silent',
        },
        {
          kind: 'during',
          minLevel: 1,
          from: silentFrom + HOUR,
          to: rainTo,
          text: 'level 1 or higher from 1 h after the silence until the rain ends',
        },
        { kind: 'never-above', maxLevel: 2, text: 'never above level 2 (no movement data)' },
      ],
    });
  },
};
