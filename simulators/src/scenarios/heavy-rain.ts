import { siteConfig } from '@slopeguard/core/engine/index.ts';
import { extensometer, HOUR, hourly, MIN, rainGauge, tiltmeter } from './models.ts';
import { makeRun } from './run.ts';
import type { Scenario } from './types.ts';

/** A nominal date: 14 July 2023, 00:00 KST. */
const DEFAULT_START = Date.UTC(2023, 6, 13, 15);

/** 24 h of monsoon rain, 344 mm in total, peaking at 42 mm/h (3-h maximum 115 mm). */
export const STORM_HOURLY = [
  2, 4, 6, 8, 10, 15, 20, 28, 35, 42, 38, 30, 22, 18, 15, 12, 10, 8, 6, 5, 4, 3, 2, 1,
] as const;

export const SITE_SENSORS = [
  { id: 'rain-1', kind: 'rain' as const },
  { id: 'rain-2', kind: 'rain' as const },
  { id: 'tilt-1', kind: 'tilt' as const },
  { id: 'tilt-2', kind: 'tilt' as const },
  { id: 'ext-1', kind: 'displacement' as const },
  { id: 'ext-2', kind: 'displacement' as const },
];

export const heavyRainStable: Scenario = {
  name: 'heavy-rain-stable',
  title: 'Heavy monsoon rain on a stable slope',
  intervalMs: 10 * MIN,
  create(options = {}) {
    const start = options.start ?? DEFAULT_START;
    const noise = { seed: options.seed ?? 1, origin: start };
    const rainFrom = start + 12 * HOUR;
    const still = () => 0;
    return makeRun({
      name: heavyRainStable.name,
      title: heavyRainStable.title,
      description:
        '344 mm in 24 h (KMA heavy-rain warning territory) over a slope that does not move: the ' +
        'site must warn on rain (level 2) and must not claim movement (never above 2).',
      config: siteConfig({ id: 'heavy-rain', sensors: SITE_SENSORS }),
      models: [
        rainGauge('rain-1', hourly(rainFrom, STORM_HOURLY)),
        rainGauge(
          'rain-2',
          hourly(
            rainFrom + 20 * MIN,
            STORM_HOURLY.map((mm) => mm * 0.85),
          ),
        ),
        tiltmeter('tilt-1', 1, noise, [0.12, 0.8], 1.1, still),
        tiltmeter('tilt-2', 2, noise, [-1.4, 0.05], 2.0, still),
        extensometer('ext-1', 3, noise, 40.2, still),
        extensometer('ext-2', 4, noise, 75.6, still),
      ],
      start,
      end: rainFrom + 48 * HOUR,
      intervalMs: options.intervalMs ?? heavyRainStable.intervalMs,
      failureAt: null,
      expectations: [
        {
          kind: 'by',
          minLevel: 2,
          by: rainFrom + 12 * HOUR,
          text: 'level 2 (주의) within 12 h of the rain starting',
        },
        { kind: 'never-above', maxLevel: 2, text: 'never above level 2: rain alone does not reach 3' },
      ],
    });
  },
};
