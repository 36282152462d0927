// A JSON Schema checker for the subset the OpenAPI description uses (type,
// enum, properties, required, additionalProperties, items, oneOf, allOf,
// $ref, minimum, maximum, maxLength, minItems, maxItems, pattern). Ajv cannot run in
// workerd: it compiles validators with new Function, which workerd forbids.
type Schema = Record<string, unknown>;

const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);

/** The problems of `value` against `schema` (empty when it conforms), each with its JSON path. */
export function validate(value: unknown, schema: Schema, root: Schema, path = "$"): string[] {
  if (typeof schema.$ref === "string") {
    const target = schema.$ref.replace(/^#\//, "").split("/").reduce<unknown>((o, k) => (o as Schema)[k], root) as Schema;
    return validate(value, target, root, path);
  }
  const errors: string[] = [];
  const t = typeOf(value);
  if (schema.type && !(schema.type === t || (schema.type === "number" && t === "integer"))) return [`${path}: ${t}, expected ${schema.type}`];
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items as Schema, root, `${path}[${i}]`)));
  }
  if (t === "object") {
    const o = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const k of (schema.required ?? []) as string[]) if (!(k in o)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(o)) {
      if (props[k]) errors.push(...validate(v, props[k], root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected field ${k}`);
      else if (typeof schema.additionalProperties === "object") errors.push(...validate(v, schema.additionalProperties as Schema, root, `${path}.${k}`));
    }
  }
  for (const s of (schema.allOf ?? []) as Schema[]) errors.push(...validate(value, s, root, path));
  if (schema.oneOf) {
    const matches = (schema.oneOf as Schema[]).filter((s) => validate(value, s, root, path).length === 0).length;
    if (matches !== 1) errors.push(`${path}: matches ${matches} of the oneOf schemas`);
  }
  return errors;
}
