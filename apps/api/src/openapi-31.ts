import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * @nestjs/swagger writes OpenAPI 3.0 (`nullable: true`); the document is published as 3.1, whose
 * `webhooks` section carries the event catalogue. 3.1 schemas are JSON Schema: a nullable schema
 * becomes a type list with "null" (an enum gains null), or anyOf [schema, null] for a $ref or a
 * composition. Examples are values, never schemas, and are left as they are.
 */
export function toOpenApi31(document: OpenAPIObject): OpenAPIObject {
  const converted = convert(document) as OpenAPIObject;
  converted.openapi = '3.1.0';
  return converted;
}

const VALUE_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const']);

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = VALUE_KEYS.has(key) ? value : convert(value);
  if (out['nullable'] !== true) {
    delete out['nullable'];
    return out;
  }
  delete out['nullable'];
  const composed = ['$ref', 'allOf', 'oneOf', 'anyOf'].some((key) => key in out);
  if (!composed && typeof out['type'] === 'string') {
    out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...(out['enum'] as unknown[]), null];
    return out;
  }
  if (!composed && Array.isArray(out['type'])) {
    if (!out['type'].includes('null')) out['type'] = [...(out['type'] as unknown[]), 'null'];
    return out;
  }
  // A $ref or a composition (Nest writes {type, nullable, allOf: [$ref]}): the schema itself, or null;
  // descriptive keys stay beside it.
  const schema: Record<string, unknown> = {};
  const beside: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(out)) {
    if (DESCRIPTIVE_KEYS.has(key)) beside[key] = value;
    else schema[key] = value;
  }
  return { ...beside, anyOf: [schema, { type: 'null' }] };
}

const DESCRIPTIVE_KEYS = new Set(['description', 'title', 'example', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly']);
