import { timingSafeEqual } from 'node:crypto';
import { request as undiciRequest } from 'undici';
import type { OutboundGuard } from '#net';
import type { SendOutcome } from './channel-adapter.js';

/**
 * The one way adapters call a provider's HTTP API. It owns what every provider shares: the timeout,
 * the latency, the request-id header, and the rule that a call which never got an answer (timeout,
 * network error) may have reached the provider and must be retried, never failed for good.
 * Each adapter reads the provider's own error body itself, then falls back to `httpFailure`.
 */

export type SendFailure = Extract<SendOutcome, { ok: false }>;

export interface ProviderRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  /** Sent as JSON (Content-Type set) when given. */
  json?: unknown;
  /** Sent as is (form bodies, XML); `json` wins when both are given. */
  body?: string | URLSearchParams;
  timeoutMs: number;
  /** Response headers that carry the provider's request id; the first present wins. */
  requestIdHeaders?: readonly string[];
  /** The SSRF guard: the URL is checked, and the connection made to the address its lookup checked. */
  guard: OutboundGuard;
}

export interface ProviderResponse {
  status: number;
  headers: Headers;
  /** The body as text, cut at MAX_BODY_BYTES (provider answers are small; an integrator's may not be). */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  requestId?: string;
  latencyMs: number;
}

export type ProviderResult = { ok: true; response: ProviderResponse } | { ok: false; failure: SendFailure; latencyMs: number };

const MAX_BODY_BYTES = 256 * 1024;

/**
 * Calls the provider. `ok: true` means an HTTP answer arrived, whatever its status: the adapter judges it.
 * `ok: false` is a transient failure: `provider.timeout` or `provider.network_error`.
 * Redirects are not followed: a provider API does not redirect, and following one from an
 * integrator's URL would let it point Ferry at private addresses.
 */
export async function callProvider(url: string, request: ProviderRequest): Promise<ProviderResult> {
  const started = performance.now();
  const problem = request.guard.urlProblem(url);
  if (problem) return refused(`The provider URL ${problem}`, 0);
  const headers: Record<string, string> = { ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] ??= 'application/json';
  } else if (request.body !== undefined) {
    body = request.body.toString();
    headers['content-type'] ??= request.body instanceof URLSearchParams ? 'application/x-www-form-urlencoded;charset=UTF-8' : 'text/plain;charset=UTF-8';
  }
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    // undici's request() rather than fetch(): the same exchange without web streams, a fraction of the
    // CPU at hundreds of sends a second. It never follows redirects; the guard's dispatcher keeps
    // connections alive per origin, each checked when it was opened.
    const answer = await undiciRequest(url, { method: request.method ?? 'POST', headers, body, signal, dispatcher: request.guard.dispatcher });
    const text = await readCapped(answer.body);
    const answerHeaders = toHeaders(answer.headers);
    const requestId = (request.requestIdHeaders ?? []).map((name) => answerHeaders.get(name)).find((value): value is string => !!value);
    return {
      ok: true,
      response: { status: answer.statusCode, headers: answerHeaders, text, json: parseJson(text), requestId, latencyMs: elapsed(started) },
    };
  } catch (error) {
    const latencyMs = elapsed(started);
    if (signal.aborted) {
      return { ok: false, latencyMs, failure: { ok: false, permanent: false, code: 'provider.timeout', reason: `No answer within ${request.timeoutMs} ms` } };
    }
    // Some URLs carry a credential (Telegram's /bot<token>/): an error quoting the URL must not store it.
    const reason = describe(error).split(url).join(redact(url));
    if (isRefusedAddress(error)) return refused(reason, latencyMs);
    return { ok: false, latencyMs, failure: { ok: false, permanent: false, code: 'provider.network_error', reason } };
  }
}

/** A URL or address the SSRF guard refuses will not pass by retrying: a permanent failure. */
function refused(reason: string, latencyMs: number): ProviderResult {
  return { ok: false, latencyMs, failure: { ok: false, permanent: true, code: 'provider.url_refused', reason } };
}

function isRefusedAddress(error: unknown): boolean {
  const failure = error as { code?: unknown; cause?: { code?: unknown } } | null;
  return failure?.code === 'ERR_FERRY_REFUSED_ADDRESS' || failure?.cause?.code === 'ERR_FERRY_REFUSED_ADDRESS';
}

/** 429, 408 and 5xx: worth another try later. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now: Date = new Date()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** A failure carrying the response's request id and status. */
export function failure(response: ProviderResponse | undefined, permanent: boolean, code: string, reason: string, retryAfter?: number): SendFailure {
  const outcome: SendFailure = { ok: false, permanent, code, reason };
  if (response?.requestId) outcome.providerRequestId = response.requestId;
  if (response) outcome.responseCode = String(response.status);
  if (retryAfter !== undefined) outcome.retryAfterMs = retryAfter;
  return outcome;
}

/**
 * The fallback reading of a non-2xx answer the adapter could not read more precisely:
 * transient for 408/429/5xx (with Retry-After), permanent otherwise. `code` defaults to
 * `provider.http_<status>`.
 */
export function httpFailure(response: ProviderResponse, reason?: string, code?: string): SendFailure {
  const transient = isTransientStatus(response.status);
  return failure(
    response,
    !transient,
    code ?? `provider.http_${response.status}`,
    reason ?? (response.text.slice(0, 500) || `HTTP ${response.status}`),
    transient ? retryAfterMs(response.headers) : undefined,
  );
}

/** Constant-time comparison of two secrets or signatures; unequal lengths answer false without leaking where. */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const left = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const right = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  if (left.length !== right.length) {
    // Still spend the comparison so a wrong length costs what a wrong value does.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function redact(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(the provider URL)';
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
