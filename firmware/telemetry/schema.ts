// A small JSON Schema checker for the subset docs/schemas/*.json use: type (string or list),
// const, enum, required, properties, additionalProperties (boolean or schema), items, minimum,
// maximum, minLength, format "date-time". Unknown keywords are ignored. Returns error strings,
// empty when the value conforms; never throws.

export type JsonSchema = { [k: string]: unknown };

function typeOf(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'number') return Number.isInteger(x) ? 'integer' : 'number';
  return typeof x;
}

function typeMatches(want: string, x: unknown): boolean {
  const got = typeOf(x);
  return got === want || (want === 'number' && got === 'integer');
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function validate(schema: JsonSchema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  const s = schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(t, value))) {
      errors.push(`${path}: expected ${types.join('|')}, got ${typeOf(value)}`);
      return errors;
    }
  }
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value))
    errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${path}: ${value} < minimum ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${path}: ${value} > maximum ${s.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength)
      errors.push(`${path}: shorter than ${s.minLength}`);
    if (s.format === 'date-time' && (!ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
      errors.push(`${path}: not an RFC 3339 date-time`);
    }
  }
  if (Array.isArray(value) && s.items && typeof s.items === 'object') {
    for (const [i, v] of value.entries()) errors.push(...validate(s.items as JsonSchema, v, `${path}[${i}]`));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of (s.required as string[] | undefined) ?? []) if (!(k in obj)) errors.push(`${path}: missing ${k}`);
    const props = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validate(props[k], v, `${path}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${path}: unexpected property ${k}`);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        errors.push(...validate(s.additionalProperties as JsonSchema, v, `${path}.${k}`));
      }
    }
  }
  return errors;
}
