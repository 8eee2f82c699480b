import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { SENSOR_KINDS } from '../schemas/reading.ts';
import { SiteConfig } from './config.ts';
import { EngineError } from './errors.ts';

export type ParsedSiteConfig = { ok: true; config: SiteConfig } | { ok: false; errors: string[] };

const compiled = TypeCompiler.Compile(SiteConfig);

/**
 * Validates a site configuration and fills every default. Lists all errors at once, each as
 * `path: message`, as operators fix a file in one pass rather than one error per run.
 */
export function parseSiteConfig(input: unknown): ParsedSiteConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: ['/: expected an object with id and sensors'] };
  const value = Value.Default(SiteConfig, structuredClone(input));
  const errors: string[] = [];
  for (const e of compiled.Errors(value)) {
    // A union failure names no alternative; the kinds are what the operator needs to see.
    const message = /\/sensors\/\d+\/kind$/.test(e.path)
      ? `expected one of ${SENSOR_KINDS.join(', ')}`
      : e.message;
    errors.push(`${e.path || '/'}: ${message}`);
  }
  if (errors.length === 0) errors.push(...semanticErrors(value as SiteConfig));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config: value as SiteConfig };
}

/** Parses YAML (the default; JSON is valid YAML) or JSON text, then validates it. No I/O. */
export function parseSiteConfigText(text: string, format: 'yaml' | 'json' = 'yaml'): ParsedSiteConfig {
  if (format === 'json') {
    try {
      return parseSiteConfig(JSON.parse(text));
    } catch (err) {
      return { ok: false, errors: [`not JSON: ${(err as Error).message}`] };
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0)
    return { ok: false, errors: doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`) };
  return parseSiteConfig(doc.toJS());
}

/** For configurations written in code (scenarios, tests): throws a coded error when invalid. */
export function siteConfig(input: unknown): SiteConfig {
  const r = parseSiteConfig(input);
  if (!r.ok) throw new EngineError('SG_ENGINE_CONFIG', 'invalid site configuration', r.errors);
  return r.config;
}

/** Rules a JSON schema cannot state: unique sensor ids, ordered thresholds, ordered ranges. */
function semanticErrors(c: SiteConfig): string[] {
  const errors: string[] = [];
  const seen = new Map<string, number>();
  c.sensors.forEach((s, i) => {
    const first = seen.get(s.id);
    if (first !== undefined) errors.push(`/sensors/${i}/id: duplicate of /sensors/${first}/id (${s.id})`);
    else seen.set(s.id, i);
    if (s.range && s.range.min >= s.range.max) errors.push(`/sensors/${i}/range: min must be below max`);
  });
  const r = c.rules;
  if (r.rain.level2.mm3h < r.rain.level1.mm3h)
    errors.push('/rules/rain/level2/mm3h: must not be below /rules/rain/level1/mm3h');
  if (r.rain.level2.mm12h < r.rain.level1.mm12h)
    errors.push('/rules/rain/level2/mm12h: must not be below /rules/rain/level1/mm12h');
  if (r.rain.intensityDuration.maxHours <= r.rain.intensityDuration.minHours)
    errors.push('/rules/rain/intensityDuration/maxHours: must be above minHours');
  if (r.tilt.level2.degPerHour < r.tilt.level1.degPerHour)
    errors.push('/rules/tilt/level2/degPerHour: must not be below /rules/tilt/level1/degPerHour');
  const line = r.rain.criticalLine;
  if (line) {
    line.points.forEach((p, i) => {
      const prev = line.points[i - 1];
      if (prev && p.swiMm <= prev.swiMm)
        errors.push(`/rules/rain/criticalLine/points/${i}/swiMm: must be above the previous point's`);
    });
    if (line.cautionLevel > line.level)
      errors.push('/rules/rain/criticalLine/cautionLevel: must not be above level');
  }
  if (r.forecast.minPoints > r.forecast.points)
    errors.push('/rules/forecast/minPoints: must not exceed /rules/forecast/points');
  if (c.rates.minBins > c.rates.bins + 1) errors.push('/rates/minBins: must not exceed bins + 1');
  for (const [kind, range] of Object.entries(c.health.ranges))
    if (range.min >= range.max) errors.push(`/health/ranges/${kind}: min must be below max`);
  return errors;
}
