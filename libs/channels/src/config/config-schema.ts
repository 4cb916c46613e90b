import type { FieldError } from '#domain';
import { hostProblem, urlProblem } from '#net';

/** How a secret is answered: clients see that it is set, never what it is. */
export const SECRET_MASK = '••••';

const DEFAULT_MAX_LENGTH = 2048;

interface FieldBase {
  description: string;
  example?: unknown;
}

/** Free text. Secrets are split out of the stored config and encrypted (see CredentialCipher). */
export interface TextField extends FieldBase {
  kind: 'text';
  secret?: boolean;
  pattern?: RegExp;
  /** What the pattern asks for, in words: "must be <hint>". */
  hint?: string;
  maxLength?: number;
}
/** An http(s) endpoint Ferry itself calls: https and a public address unless ALLOW_PRIVATE_URLS. */
export interface UrlField extends FieldBase {
  kind: 'url';
}
/** A host Ferry connects to (SMTP): held to the same public-address rule as URLs. */
export interface HostField extends FieldBase {
  kind: 'host';
}
export interface EmailField extends FieldBase {
  kind: 'email';
}
/** Browser origins (scheme://host[:port]); Ferry never connects to them, so http is fine. */
export interface OriginListField extends FieldBase {
  kind: 'origins';
  maxItems: number;
}
export interface IntegerField extends FieldBase {
  kind: 'integer';
  min: number;
  max: number;
}
export interface BooleanField extends FieldBase {
  kind: 'boolean';
}
export interface ObjectField<T> extends FieldBase {
  kind: 'object';
  fields: Shape<T>;
}

type FieldFor<V> = [V] extends [string]
  ? TextField | UrlField | HostField | EmailField
  : [V] extends [readonly string[]]
    ? OriginListField
    : [V] extends [number]
      ? IntegerField
      : [V] extends [boolean]
        ? BooleanField
        : [V] extends [object]
          ? ObjectField<V>
          : never;

/**
 * The fields of a config type T, one spec per key: the compiler checks that every key of T has a
 * spec of a kind that fits its type, and that a spec is `optional: true` exactly when the key is.
 */
export type Shape<T> = {
  [K in keyof T]-?: FieldFor<NonNullable<T[K]>> & (undefined extends T[K] ? { optional: true } : { optional?: false });
};

type AnyField = (TextField | UrlField | HostField | EmailField | OriginListField | IntegerField | BooleanField | ObjectField<object>) & {
  optional?: boolean;
};
type AnyShape = Record<string, AnyField>;

export interface ParseOptions {
  /** Development and demo only: lets URLs and hosts be http and private/local addresses. */
  allowPrivateUrls: boolean;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Checks `input` against `shape`: required fields present, types and formats right, no unknown
 * keys. `null` counts as absent (a merge patch's way to clear a field). Errors name fields from
 * `root`, e.g. `config.smtp.port`.
 */
export function parseShape<T>(shape: Shape<T>, input: unknown, options: ParseOptions, root = 'config'): ParseResult<T> {
  const errors: FieldError[] = [];
  const value = parseObject(shape as unknown as AnyShape, input, root, options, errors);
  return errors.length === 0 && value ? { ok: true, value: value as T } : { ok: false, errors };
}

function parseObject(shape: AnyShape, input: unknown, path: string, options: ParseOptions, errors: FieldError[]): Record<string, unknown> | undefined {
  if (!isPlainObject(input)) {
    errors.push({ field: path, message: 'must be an object' });
    return undefined;
  }
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(shape, key)) errors.push({ field: `${path}.${key}`, message: 'is not a setting of this channel' });
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const at = `${path}.${key}`;
    const value = input[key];
    if (value === undefined || value === null) {
      if (!field.optional) errors.push({ field: at, message: 'is required' });
      continue;
    }
    const parsed = parseField(field, value, at, options, errors);
    if (parsed !== undefined) out[key] = parsed;
  }
  return out;
}

function parseField(field: AnyField, value: unknown, at: string, options: ParseOptions, errors: FieldError[]): unknown {
  const fail = (message: string): undefined => {
    errors.push({ field: at, message });
    return undefined;
  };
  switch (field.kind) {
    case 'object':
      return parseObject(field.fields as unknown as AnyShape, value, at, options, errors);
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail('must be a whole number');
      if (value < field.min || value > field.max) return fail(`must be between ${field.min} and ${field.max}`);
      return value;
    case 'boolean':
      return typeof value === 'boolean' ? value : fail('must be true or false');
    case 'origins':
      return parseOrigins(field, value, at, errors);
    default: {
      if (typeof value !== 'string') return fail('must be a string');
      if (value.trim() === '') return fail('must not be empty');
      const maxLength = field.kind === 'text' ? (field.maxLength ?? DEFAULT_MAX_LENGTH) : DEFAULT_MAX_LENGTH;
      if (value.length > maxLength) return fail(`must be at most ${maxLength} characters`);
      const problem = stringProblem(field, value, options);
      return problem ? fail(problem) : value;
    }
  }
}

function stringProblem(field: TextField | UrlField | HostField | EmailField, value: string, options: ParseOptions): string | null {
  switch (field.kind) {
    case 'text':
      if (field.secret && value === SECRET_MASK) return 'must be the secret itself, not its mask';
      return field.pattern && !field.pattern.test(value) ? `must be ${field.hint ?? `like ${field.pattern.source}`}` : null;
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) && value.length <= 254 ? null : 'must be an email address';
    case 'url':
      return urlProblem(value, options);
    case 'host':
      return hostProblem(value, options);
  }
}

function parseOrigins(field: OriginListField, value: unknown, at: string, errors: FieldError[]): string[] | undefined {
  if (!Array.isArray(value)) {
    errors.push({ field: at, message: 'must be a list of origins' });
    return undefined;
  }
  if (value.length === 0 || value.length > field.maxItems) {
    errors.push({ field: at, message: `must list 1 to ${field.maxItems} origins` });
    return undefined;
  }
  const before = errors.length;
  value.forEach((item, index) => {
    if (typeof item !== 'string' || !isOrigin(item)) {
      errors.push({ field: `${at}.${index}`, message: 'must be an origin like https://www.example.com (scheme, host, optional port; no path)' });
    }
  });
  return errors.length === before ? (value as string[]) : undefined;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The dotted paths of the secret fields of a shape, e.g. ['accessToken', 'smtp.password']. */
export function secretPathsOf<T>(shape: Shape<T>): string[] {
  const walk = (fields: AnyShape, prefix: string): string[] =>
    Object.entries(fields).flatMap(([key, field]) => {
      if (field.kind === 'object') return walk(field.fields as unknown as AnyShape, `${prefix}${key}.`);
      return field.kind === 'text' && field.secret ? [`${prefix}${key}`] : [];
    });
  return walk(shape as unknown as AnyShape, '');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON Schema (OpenAPI 3 flavour) of a shape, for the API document. */
export function jsonSchemaOf<T>(shape: Shape<T>, title?: string): Record<string, unknown> {
  const fields = shape as unknown as AnyShape;
  const properties = Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, fieldSchema(field)]));
  const required = Object.entries(fields).filter(([, field]) => !field.optional).map(([key]) => key);
  return {
    type: 'object',
    ...(title ? { title } : {}),
    additionalProperties: false,
    ...(required.length ? { required } : {}),
    properties,
  };
}

function fieldSchema(field: AnyField): Record<string, unknown> {
  const common = { description: field.description, ...(field.example !== undefined ? { example: field.example } : {}) };
  switch (field.kind) {
    case 'object':
      return { ...jsonSchemaOf(field.fields as Shape<object>), description: field.description };
    case 'integer':
      return { type: 'integer', minimum: field.min, maximum: field.max, ...common };
    case 'boolean':
      return { type: 'boolean', ...common };
    case 'origins':
      return { type: 'array', items: { type: 'string', format: 'uri' }, minItems: 1, maxItems: field.maxItems, ...common };
    case 'url':
      return { type: 'string', format: 'uri', ...common };
    case 'host':
      return { type: 'string', format: 'hostname', ...common };
    case 'email':
      return { type: 'string', format: 'email', ...common };
    case 'text':
      return {
        type: 'string',
        maxLength: field.maxLength ?? DEFAULT_MAX_LENGTH,
        ...(field.secret ? { format: 'password', description: `${field.description}. Secret: write-only, answered as "${SECRET_MASK}".` } : { description: field.description }),
        ...(field.example !== undefined ? { example: field.example } : {}),
      };
  }
}

/** A config built from the fields' examples: documentation, and a known-good config for tests. */
export function exampleOf<T>(shape: Shape<T>): T {
  const walk = (fields: AnyShape): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(fields).flatMap(([key, field]) => {
        if (field.kind === 'object') return [[key, walk(field.fields as unknown as AnyShape)]];
        return field.example === undefined ? [] : [[key, field.example]];
      }),
    );
  return walk(shape as unknown as AnyShape) as T;
}
