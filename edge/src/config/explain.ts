import { Kind, type TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

/**
 * Every error in a value against a schema, as `path: message`, without a cap: an operator fixing a
 * gateway's config on a hillside wants the whole list at once. A union that TypeBox reports as a
 * bare "Expected union value" is explained further: a union of literals lists the allowed values, and
 * a union of objects told apart by a discriminator (`driver`, `kind`) reports the errors of the variant
 * that the value names, so a typo inside a driver block is reported at its own path.
 */
export function explain(
  schema: TSchema,
  value: unknown,
  discriminators: readonly string[],
  prefix = '',
): string[] {
  const out: string[] = [];
  for (const e of Value.Errors(schema, value)) {
    const path = prefix + e.path;
    if (e.type === ValueErrorType.Union && Array.isArray(e.schema.anyOf)) {
      out.push(...explainUnion(e.schema.anyOf as TSchema[], e.value, path, discriminators));
      continue;
    }
    out.push(`${path || '/'}: ${e.message}`);
  }
  return dedupe(out);
}

function explainUnion(
  variants: TSchema[],
  value: unknown,
  path: string,
  discriminators: readonly string[],
): string[] {
  const literals = variants.filter((v) => v[Kind] === 'Literal').map((v) => JSON.stringify(v.const));
  if (literals.length === variants.length) return [`${path || '/'}: must be one of ${literals.join(', ')}`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${path || '/'}: expected an object`];
  }
  const record = value as Record<string, unknown>;
  for (const d of discriminators) {
    const tags = variants.map((v) => (v.properties as Record<string, TSchema> | undefined)?.[d]?.const);
    if (tags.some((t) => t === undefined)) continue;
    const match = variants[tags.indexOf(record[d])];
    // TypeBox fills defaults only into a variant the value already matches; fill the named variant's
    // defaults into a copy so that a field with a default is not also reported as missing.
    if (match) return explain(match, Value.Default(match, structuredClone(value)), discriminators, path);
    return [`${path}/${d}: must be one of ${tags.map((t) => JSON.stringify(t)).join(', ')}`];
  }
  return [`${path || '/'}: matches none of the allowed forms`];
}

/** One error per path (the first): `Expected required property` then `Expected string` says it twice. */
function dedupe(lines: string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const path = l.slice(0, l.indexOf(': '));
    if (seen.has(path)) return false;
    seen.add(path);
    return true;
  });
}
