import { describe, expect, it } from 'vitest';
import {
  createEngine,
  parseSiteConfig,
  parseSiteConfigText,
  type SiteConfig,
  siteConfig,
} from '../../src/engine/index.ts';

const MINIMAL =
  '{"id": "demo-a", "sensors": [{"id": "rain-1", "kind": "rain"}, {"id": "tilt-1", "kind": "tilt"}]}';
const MINIMAL_YAML = `id: demo-a
sensors:
  - id: rain-1
    kind: rain
  - id: tilt-1
    kind: tilt
`;

describe('site configuration', () => {
  it('accepts the minimal file from the issue, as JSON and as YAML, with every default filled', () => {
    const fromJson = parseSiteConfigText(MINIMAL, 'json');
    const fromYaml = parseSiteConfigText(MINIMAL_YAML);
    expect(fromJson.ok).toBe(true);
    expect(fromYaml).toEqual(fromJson);
    if (!fromJson.ok) return;
    const r = fromJson.config.rules;
    expect(r.rain.level1).toEqual({ mm3h: 60, mm12h: 110 });
    expect(r.rain.level2).toEqual({ mm3h: 90, mm12h: 180 });
    expect(r.rain.intensityDuration).toMatchObject({ a: 9.64, b: -0.27, minHours: 4, maxHours: 76 });
    expect(r.rain.event).toEqual({ dryHours: 6, dryMm: 1 });
    expect(r.rain.swi.criticalMm).toBeUndefined();
    expect(r.tilt.level1).toEqual({ degPerHour: 0.01, sustainMinutes: 30 });
    expect(r.tilt.level2).toEqual({ degPerHour: 0.1, sustainMinutes: 30 });
    expect(r.displacement.level1).toEqual({ mmPerDay: 1, windowHours: 24 });
    expect(r.displacement.level3).toEqual({ mmPerHour: 2, sustainHours: 2 });
    expect(r.displacement.level4).toMatchObject({ mmPerHour: 10, forecastHours: 3 });
    expect(r.holdDown.hours).toBe(6);
    expect(fromJson.config.health.staleIntervals).toBe(3);
  });

  it('keeps overrides and defaults the rest', () => {
    const r = parseSiteConfig({
      id: 'a',
      sensors: [{ id: 'r', kind: 'rain' }],
      rules: { rain: { level1: { mm3h: 50 }, swi: { criticalMm: 124 } } },
    });
    expect(r.ok && r.config.rules.rain.level1).toEqual({ mm3h: 50, mm12h: 110 });
    expect(r.ok && r.config.rules.rain.swi).toEqual({ criticalMm: 124, level: 3 });
  });

  it('lists every error at once, each with its path', () => {
    const r = parseSiteConfigText(`id: Bad Id
sensors:
  - id: t1
    kind: tilts
  - id: t1
    kind: tilt
rules:
  tilt:
    level1:
      degPerHour: -1
  bogus: 1
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/id: /),
        expect.stringMatching(/^\/sensors\/0\/kind: expected one of tilt, rain/),
        expect.stringMatching(/^\/rules\/tilt\/level1\/degPerHour: /),
        expect.stringMatching(/^\/rules\/bogus: /),
      ]),
    );
  });

  it('reports duplicate sensors and inverted thresholds', () => {
    const r = parseSiteConfig({
      id: 'a',
      sensors: [
        { id: 't1', kind: 'tilt' },
        { id: 't1', kind: 'tilt' },
      ],
      rules: { rain: { level2: { mm3h: 50 } } },
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([
      '/sensors/1/id: duplicate of /sensors/0/id (t1)',
      '/rules/rain/level2/mm3h: must not be below /rules/rain/level1/mm3h',
    ]);
  });

  it('reports YAML syntax errors with their line, and non-objects, without throwing', () => {
    const r = parseSiteConfigText('id: [\n');
    expect(!r.ok && r.errors[0]).toMatch(/^YAML: .*line 2/);
    expect(parseSiteConfigText('{', 'json').ok).toBe(false);
    expect(parseSiteConfig(null).ok).toBe(false);
    expect(parseSiteConfig([1]).ok).toBe(false);
  });

  it('does not mutate its input', () => {
    const input = { id: 'a', sensors: [{ id: 'r', kind: 'rain' }] };
    parseSiteConfig(input);
    expect(input).toEqual({ id: 'a', sensors: [{ id: 'r', kind: 'rain' }] });
  });

  it('createEngine fills the defaults of a configuration built in code, and refuses an invalid one', () => {
    const partial = { id: 'a', sensors: [{ id: 'r', kind: 'rain' }] } as unknown as SiteConfig;
    expect(createEngine(partial).level).toBe(0);
    const bad = { id: 'a', sensors: [{ id: 'r', kind: 'lava' }] } as unknown as SiteConfig;
    expect(() => createEngine(bad)).toThrow(expect.objectContaining({ code: 'SG_ENGINE_CONFIG' }));
  });

  it('siteConfig throws a coded error for configurations written in code', () => {
    expect(() => siteConfig({ id: 'a', sensors: [] })).toThrow(
      expect.objectContaining({ code: 'SG_ENGINE_CONFIG' }),
    );
  });
});
