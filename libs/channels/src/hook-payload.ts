import { DomainError } from '#domain';

/**
 * Reading a provider's JSON hook body defensively: whatever arrives is `unknown` until checked,
 * and anything the adapter cannot read is `hook.malformed` (400, nothing stored), never a crash.
 */

export type JsonObject = Record<string, unknown>;

export function malformed(reason: string): DomainError {
  return DomainError.invalid('hook.malformed', reason);
}

export function readJsonBody(rawBody: Buffer): unknown {
  try {
    return JSON.parse(rawBody.toString('utf8')) as unknown;
  } catch {
    throw malformed('The body is not JSON');
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, or hook.malformed naming `what`. */
export function objectAt(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw malformed(`${what} must be an object`);
  return value;
}

export function arrayAt(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(`${what} must be an array`);
  return value;
}

/** A non-empty string, or a number written as one (provider ids come as either). */
export function optionalText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export function requiredText(value: unknown, what: string): string {
  const text = optionalText(value);
  if (text === undefined) throw malformed(`${what} is missing`);
  return text;
}

/** A time given in seconds (or milliseconds) since the epoch, as a number or a numeric string. */
export function epochAt(value: unknown, what: string, unit: 'seconds' | 'milliseconds'): Date {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) throw malformed(`${what} must be a ${unit} timestamp`);
  return new Date(unit === 'seconds' ? number * 1000 : number);
}
