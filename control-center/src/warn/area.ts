import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { Position } from '@slopeguard/core';

/**
 * The area a site threatens: where the people live who must be warned, and where they should go.
 * A site file carries it under `area:` (docs/warnings.md). One schema gives the type, the validator
 * and the defaults. Positions are [latitude, longitude] in decimal degrees (WGS 84), the order CAP
 * 1.2 uses for its polygon and circle (CAP 1.2 3.2.4), so nothing is swapped between config and feed.
 */

export { Position } from '@slopeguard/core';

/** A name for residents in both languages; bounded so one name cannot push every form over its limit. */
const Names = (max: number, description: string) =>
  Type.Object(
    {
      ko: Type.String({ minLength: 1, maxLength: max }),
      en: Type.String({ minLength: 1, maxLength: max }),
    },
    { additionalProperties: false, description },
  );

export const Shelter = Type.Object(
  {
    name: Names(80, 'the shelter as residents know it (대피소 이름)'),
    address: Names(160, 'street address'),
    position: Position,
  },
  { additionalProperties: false },
);
export type Shelter = Static<typeof Shelter>;

export const Circle = Type.Object(
  {
    center: Position,
    radiusKm: Type.Number({ exclusiveMinimum: 0, maximum: 50, description: 'radius in kilometres' }),
  },
  { additionalProperties: false },
);
export type Circle = Static<typeof Circle>;

/** Replaces the "what to do" sentence of one message kind, per language. */
const Override = Type.Object(
  {
    ko: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    en: Type.Optional(Type.String({ minLength: 1, maxLength: 160 })),
  },
  { additionalProperties: false },
);

export const MESSAGE_KINDS = ['caution', 'warning', 'serious', 'all_clear'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const Area = Type.Object(
  {
    id: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
      description: 'the area in URLs (/p/{id}); default: the site id',
    }),
    name: Names(60, 'the place residents recognise, e.g. 부산 해운대구 우동 장산 급경사지'),
    issuer: Names(30, 'who sends the warning, first in every text: [부산광역시 해운대구청]'),
    polygon: Type.Optional(
      Type.Array(Position, {
        minItems: 3,
        maxItems: 200,
        description: 'corners in order; closed automatically',
      }),
    ),
    circle: Type.Optional(Circle),
    shelters: Type.Array(Shelter, { maxItems: 20, default: [], description: 'nearest first' }),
    messages: Type.Object(
      {
        caution: Type.Optional(Override),
        warning: Type.Optional(Override),
        serious: Type.Optional(Override),
        all_clear: Type.Optional(Override),
      },
      { additionalProperties: false, default: {}, description: 'replaces the "what to do" sentence' },
    ),
    timeZone: Type.String({ default: 'Asia/Seoul', maxLength: 64, description: 'IANA time zone' }),
  },
  { additionalProperties: false },
);
export type Area = Static<typeof Area>;

const compiled = TypeCompiler.Compile(Area);

/** Radius of the default area of a site that names none (practice: the runout zone below a small slope). */
export const DEFAULT_RADIUS_KM = 0.5;

/**
 * The area of a site without an `area:` section (demo sites): a circle around the site's position,
 * named after the site, no shelters (the messages then say "the nearest shelter").
 */
export function defaultArea(site: { id: string; name?: string; position: Position }): Area {
  const label = site.name && site.name.length <= 60 ? site.name : site.id.slice(0, 60);
  return {
    id: areaIdFor(site.id),
    name: { ko: label, en: label },
    issuer: { ko: '슬로프가드', en: 'Slopeguard' },
    circle: { center: site.position, radiusKm: DEFAULT_RADIUS_KM },
    shelters: [],
    messages: {},
    timeZone: 'Asia/Seoul',
  };
}

/** Site ids may carry characters a URL path segment should not (`.`, `_`, capitals): map them. */
export function areaIdFor(siteId: string): string {
  const id = siteId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63);
  return id.length > 0 ? id : 'area';
}

export type AreaResult = { ok: true; area: Area } | { ok: false; errors: string[] };

/**
 * Validates an `area:` object and fills its defaults; every error as `path: message`, paths from
 * the area's root. `siteId` is the default id.
 */
export function parseArea(input: unknown, siteId: string): AreaResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: ['/: expected an object with name, issuer, shelters and polygon or circle'] };
  const raw = structuredClone(input) as Record<string, unknown>;
  if (raw.id === undefined) raw.id = areaIdFor(siteId);
  const value = Value.Default(Area, raw);
  const errors = [...compiled.Errors(value)].map((e) => `${e.path || '/'}: ${e.message}`);
  if (errors.length === 0) errors.push(...semanticErrors(value as Area));
  return errors.length > 0 ? { ok: false, errors: [...new Set(errors)] } : { ok: true, area: value as Area };
}

/** Rules a JSON schema cannot state. */
function semanticErrors(a: Area): string[] {
  const errors: string[] = [];
  if (a.polygon === undefined && a.circle === undefined) errors.push('/: needs a polygon or a circle');
  if (a.polygon !== undefined && a.circle !== undefined)
    errors.push('/: a polygon or a circle, not both (CAP carries one shape per area here)');
  if (a.polygon) {
    const open = closedRing(a.polygon).slice(0, -1);
    const distinct = new Set(open.map((p) => `${p[0]},${p[1]}`));
    if (distinct.size < 3) errors.push('/polygon: needs at least 3 distinct corners');
    else if (Math.abs(ringArea(open)) < 1e-12) errors.push('/polygon: the corners lie on one line');
  }
  if (!isTimeZone(a.timeZone)) errors.push(`/timeZone: unknown time zone ${JSON.stringify(a.timeZone)}`);
  const seen = new Map<string, number>();
  a.shelters.forEach((s, i) => {
    const first = seen.get(s.name.ko);
    if (first !== undefined) errors.push(`/shelters/${i}/name/ko: duplicate of /shelters/${first}/name/ko`);
    else seen.set(s.name.ko, i);
  });
  return errors;
}

/** The ring with its first corner repeated at the end, as CAP requires (CAP 1.2 3.2.4 polygon). */
export function closedRing(points: readonly Position[]): Position[] {
  const ring = points.map((p) => [p[0], p[1]] as Position);
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) ring.push([first[0], first[1]]);
  return ring;
}

function ringArea(points: readonly Position[]): number {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const [y1, x1] = points[i] as Position;
    const [y2, x2] = points[(i + 1) % points.length] as Position;
    sum += x1 * y2 - x2 * y1;
  }
  return sum / 2;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
