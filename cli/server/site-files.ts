import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Area } from '@slopeguard/control-center/warn/area.ts';
import { areaFromSiteFile } from '@slopeguard/control-center/warn/site-area.ts';
import { parseSiteConfig, type SiteConfig } from '@slopeguard/core/engine/index.ts';
import { parseDocument } from 'yaml';

/**
 * A site file holds the site's rules (core's closed SiteConfig schema, which includes `position`)
 * and, optionally, the area it threatens under `area:` (docs/warnings.md). The area is the control
 * center's business, not the engine's (gateways run the same engine and never warn residents by
 * text), so it is taken out here and checked by warn's own schema; both sets of errors are listed
 * together, each with its file and path. A file without `area:` but with `position:` gets the
 * default circle; with neither, the site warns officials only.
 */
export interface SiteFile {
  config: SiteConfig;
  area: Area | undefined;
}

export type SiteFileResult = { ok: true; value: SiteFile } | { ok: false; errors: string[] };

export function parseSiteFileText(text: string, format: 'yaml' | 'json' = 'yaml'): SiteFileResult {
  let raw: unknown;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return { ok: false, errors: [`not JSON: ${(err as Error).message}`] };
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0)
      return { ok: false, errors: doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`) };
    raw = doc.toJS();
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, errors: ['/: expected an object with id and sensors'] };
  const { area, ...rules } = raw as Record<string, unknown>;
  const parsed = parseSiteConfig(rules);
  const a = areaFromSiteFile({ id: rules.id, name: rules.name, position: rules.position, area });
  // A bad position is reported by the site schema already.
  const areaErrors = a.errors.filter((e) => !e.startsWith('/position'));
  const errors = [...(parsed.ok ? [] : parsed.errors), ...areaErrors];
  if (!parsed.ok || errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { config: parsed.config, area: a.area } };
}

export type SiteFiles =
  | { ok: true; configs: Map<string, SiteConfig>; areas: Map<string, Area> }
  | { ok: false; errors: string[] };

/** Reads every *.yaml / *.yml / *.json site file of a folder; all errors of all files at once. */
export function loadSiteFiles(dir: string): SiteFiles {
  const configs = new Map<string, SiteConfig>();
  const areas = new Map<string, Area>();
  const areaFile = new Map<string, string>();
  const errors: string[] = [];
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort();
  } catch (err) {
    return { ok: false, errors: [`${dir}: ${(err as Error).message}`] };
  }
  for (const f of files) {
    const parsed = parseSiteFileText(
      readFileSync(join(dir, f), 'utf8'),
      f.endsWith('.json') ? 'json' : 'yaml',
    );
    if (!parsed.ok) {
      for (const e of parsed.errors) errors.push(`${f}: ${e}`);
      continue;
    }
    const { config, area } = parsed.value;
    if (configs.has(config.id)) errors.push(`${f}: site ${config.id} is configured twice`);
    configs.set(config.id, config);
    if (area) {
      const other = areaFile.get(area.id);
      if (other) errors.push(`${f}: /area/id: area ${area.id} is already the area of ${other}`);
      areaFile.set(area.id, f);
      areas.set(config.id, area);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, configs, areas };
}
