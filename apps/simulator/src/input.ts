/** A bad request to the simulator's control API: answered 400 with its message. */
export class SimInputError extends Error {}

export type Json = Record<string, unknown>;

export function asRecord(value: unknown, name: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SimInputError(`${name} must be an object`);
  return value as Json;
}

export function optString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw new SimInputError(`${key} must be a string`);
  return value;
}

export function reqString(body: Json, key: string): string {
  const value = optString(body, key);
  if (value === undefined || value === '') throw new SimInputError(`${key} is required`);
  return value;
}

export function optNumber(body: Json, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SimInputError(`${key} must be a number`);
  return value;
}

/** A time given as epoch milliseconds or an ISO string. */
export function optTime(body: Json, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new SimInputError(`${key} must be epoch milliseconds or an ISO time`);
  return ms;
}

/** The raw body as JSON, or undefined when it is not JSON (each provider answers that in its own words). */
export function tryJson(raw: unknown): Json | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

export function jsonBody(raw: unknown): Json {
  if (raw === undefined || raw === null || raw === '') return {};
  const parsed = tryJson(raw);
  if (!parsed) throw new SimInputError('body must be a JSON object');
  return parsed;
}

/** application/x-www-form-urlencoded, last value wins (Twilio and Telegram take single values). */
export function formBody(raw: unknown): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(typeof raw === 'string' ? raw : ''));
}

/** `repeat: true` redelivers once; a number redelivers that many times. */
export function repeatCount(body: Json): number {
  const value = body['repeat'];
  if (value === undefined || value === false || value === null) return 0;
  if (value === true) return 1;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 20) return value;
  throw new SimInputError('repeat must be a boolean or an integer 0-20');
}
