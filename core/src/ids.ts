/** Identifiers of sites, gateways and sensors: lower-case, digits and dashes, 1-63 characters. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
const ID_RE = new RegExp(ID_PATTERN);

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}
