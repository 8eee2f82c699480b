import { Value } from '@sinclair/typebox/value';
import { type Area, defaultArea, Position, parseArea } from './area.ts';
import { overrideErrors } from './messages.ts';

/**
 * The area of one site file: reads `area:` from the parsed YAML (or JSON) object of a site file,
 * validates it and checks that every message it changes still fits its length limits. A file
 * without `area:` gets the default circle around the site's position (`position: [lat, lon]` in the
 * file, or `fallbackPosition` from elsewhere, e.g. the demo's site list); with neither, no area and
 * no error: that site warns officials only. Errors are listed all at once with paths from the file's
 * root (`/area/shelters/0/position/0: ...`). Pure: no I/O, the caller parsed the file.
 */
export interface SiteAreaResult {
  area: Area | undefined;
  errors: string[];
}

export function areaFromSiteFile(site: unknown, fallbackPosition?: Position): SiteAreaResult {
  if (typeof site !== 'object' || site === null || Array.isArray(site))
    return { area: undefined, errors: ['/: expected a site object'] };
  const s = site as Record<string, unknown>;
  const siteId = typeof s.id === 'string' && s.id.length > 0 ? s.id : 'site';
  if (s.area === undefined) {
    let position = fallbackPosition;
    if (s.position !== undefined) {
      if (!Value.Check(Position, s.position))
        return { area: undefined, errors: ['/position: expected [latitude, longitude] in degrees'] };
      position = s.position;
    }
    if (!position) return { area: undefined, errors: [] };
    const name = typeof s.name === 'string' ? s.name : undefined;
    return { area: defaultArea({ id: siteId, name, position }), errors: [] };
  }
  const parsed = parseArea(s.area, siteId);
  if (!parsed.ok) return { area: undefined, errors: parsed.errors.map((e) => `/area${prefix(e)}`) };
  const fit = overrideErrors(parsed.area);
  if (fit.length > 0) return { area: undefined, errors: fit.map((e) => `/area${prefix(e)}`) };
  return { area: parsed.area, errors: [] };
}

/** "/: msg" becomes ": msg" so that the root error reads "/area: msg". */
function prefix(error: string): string {
  return error.startsWith('/:') ? error.slice(1) : error;
}
