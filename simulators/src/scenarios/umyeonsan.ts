import { siteConfig } from '@slopeguard/core/engine/index.ts';
import {
  creepToFailure,
  extensometer,
  HOUR,
  hourly,
  MIN,
  type RainSegment,
  rainGauge,
  tiltmeter,
  withFaults,
} from './models.ts';
import { makeRun } from './run.ts';
import type { Scenario } from './types.ts';

/** Korean standard time (UTC+9) in July 2011. */
const kst = (day: number, h: number, m = 0) => Date.UTC(2011, 6, day, h - 9, m);
const DEFAULT_START = kst(25, 12);

/**
 * Hourly rain at the two gauges. Totals as in docs/domain.md, "Reference events" (Namhyeon 266.5 mm from 16:20 on
 * 26 July to 07:40 on 27 July and 112.5 mm the next hour; Seocho 230 mm and 85.5 mm). No public
 * hour-by-hour series was found: the hourly SHAPE IS SYNTHETIC (a build-up through the night to a
 * dawn peak), chosen only to meet those totals. The 306.5 mm "in 16 h" of the reports is not matched.
 */
function namhyeon(shift: number): RainSegment[] {
  const s = (t: number) => t + shift;
  return [
    { from: s(kst(26, 16, 20)), to: s(kst(26, 17)), mm: 4 },
    ...hourly(s(kst(26, 17)), [8, 12, 10, 6, 5, 8, 12, 15, 14, 10, 12, 18, 25, 40]),
    { from: s(kst(27, 7)), to: s(kst(27, 7, 40)), mm: 67.5 }, // 266.5 mm since 16:20
    ...hourly(s(kst(27, 7, 40)), [112.5, 30, 12, 4]),
  ];
}

function seocho(shift: number): RainSegment[] {
  const k = 230 / 266.5;
  return namhyeon(shift).map((seg, i, all) => {
    const peak = i === all.length - 4;
    const tail = i > all.length - 4;
    return { ...seg, mm: peak ? 85.5 : tail ? seg.mm * 0.76 : seg.mm * k };
  });
}

export const umyeonsan: Scenario = {
  name: 'umyeonsan-2011',
  title: 'Umyeonsan storm, 26-27 July 2011, slope creeping to failure',
  intervalMs: MIN,
  create(options = {}) {
    const start = options.start ?? DEFAULT_START;
    const noise = { seed: options.seed ?? 1, origin: start };
    const shift = start - DEFAULT_START;
    const failureAt = kst(27, 8, 40) + shift;
    const creep = creepToFailure({
      creepFrom: kst(26, 23) + shift,
      secondary: 0.3,
      tertiaryFrom: failureAt - 8 * HOUR,
      tertiaryStart: 1,
      failureAt,
    });
    const sensors = [
      { id: 'rain-1', kind: 'rain' as const },
      { id: 'rain-2', kind: 'rain' as const },
      { id: 'tilt-1', kind: 'tilt' as const },
      { id: 'tilt-2', kind: 'tilt' as const },
      { id: 'ext-1', kind: 'displacement' as const },
      { id: 'ext-2', kind: 'displacement' as const },
    ];
    const end = failureAt + HOUR;
    // The movement sensors are destroyed with the slope.
    const destroyed = (sensor: string) => ({
      sensor,
      kind: 'dropout' as const,
      from: failureAt,
      to: end + 1,
      size: 0,
    });
    const models = [
      rainGauge('rain-1', namhyeon(shift)),
      rainGauge('rain-2', seocho(shift)),
      tiltmeter('tilt-1', 1, noise, [0.41, -1.2], 0.6, (t) => 0.01 * creep(t)),
      tiltmeter('tilt-2', 2, noise, [-2.05, 0.33], 2.4, (t) => 0.007 * creep(t)),
      extensometer('ext-1', 3, noise, 152.3, creep),
      extensometer('ext-2', 4, noise, 87.9, (t) => 0.75 * creep(t)),
    ].map((m) => withFaults(m, m.kind === 'rain' ? [] : [destroyed(m.id)]));
    return makeRun({
      name: umyeonsan.name,
      title: umyeonsan.title,
      description:
        'Two gauges with the Umyeonsan totals (synthetic hourly shape); two tilt sensors and two ' +
        'extensometers on a slope that creeps from 23:00 and accelerates (1/v linear) to failure at ' +
        '08:40 on 27 July (landslides occurred 07:40-11:00); the movement sensors die with it.',
      config: siteConfig({ id: 'umyeonsan', name: 'Umyeonsan (synthetic)', sensors }),
      models,
      start,
      end,
      intervalMs: options.intervalMs ?? umyeonsan.intervalMs,
      failureAt,
      expectations: [
        {
          kind: 'lead',
          minLevel: 1,
          leadMs: 6 * HOUR,
          text: 'level 1 (관심) at least 6 h before the failure',
        },
        { kind: 'lead', minLevel: 3, leadMs: HOUR, text: 'level 3 (경계) at least 1 h before the failure' },
        {
          kind: 'lead',
          minLevel: 4,
          leadMs: 30 * MIN,
          text: 'level 4 (심각) at least 30 min before the failure',
        },
      ],
    });
  },
};
