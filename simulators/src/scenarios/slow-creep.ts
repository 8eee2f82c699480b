import { siteConfig } from '@slopeguard/core/engine/index.ts';
import { SITE_SENSORS } from './heavy-rain.ts';
import { extensometer, HOUR, MIN, rainGauge, steadyCreep, tiltmeter } from './models.ts';
import { makeRun } from './run.ts';
import type { Scenario } from './types.ts';

/** A nominal date: 1 October 2024, 00:00 KST (dry season). */
const DEFAULT_START = Date.UTC(2024, 8, 30, 15);
const DAY = 24 * HOUR;

export const slowCreep: Scenario = {
  name: 'slow-creep',
  title: 'Slow creep over three weeks, no rain',
  intervalMs: 10 * MIN,
  create(options = {}) {
    const start = options.start ?? DEFAULT_START;
    const noise = { seed: options.seed ?? 1, origin: start };
    const from = start + 2 * DAY;
    return makeRun({
      name: slowCreep.name,
      title: slowCreep.title,
      description:
        'From day 2 the slope creeps at 2 mm/day (ext-1) and 1.2 mm/day (ext-2), an active slope by ' +
        'JRA 2009, with no rain: level 1 (watch, check the site) within two days, and nothing more.',
      config: siteConfig({ id: 'slow-creep', sensors: SITE_SENSORS }),
      models: [
        rainGauge('rain-1', []),
        rainGauge('rain-2', []),
        tiltmeter('tilt-1', 1, noise, [0.5, 0.5], 0.3, (t) => 0.002 * steadyCreep(from, 2)(t)),
        tiltmeter('tilt-2', 2, noise, [1.5, -0.7], 2.9, () => 0),
        extensometer('ext-1', 3, noise, 110, steadyCreep(from, 2)),
        extensometer('ext-2', 4, noise, 64, steadyCreep(from, 1.2)),
      ],
      start,
      end: start + 21 * DAY,
      intervalMs: options.intervalMs ?? slowCreep.intervalMs,
      failureAt: null,
      expectations: [
        {
          kind: 'by',
          minLevel: 1,
          by: from + 2 * DAY,
          text: 'level 1 (관심) within 2 days of the creep starting',
        },
        {
          kind: 'never-above',
          maxLevel: 1,
          text: 'never above level 1: slow creep is for officials, not residents',
        },
      ],
    });
  },
};
