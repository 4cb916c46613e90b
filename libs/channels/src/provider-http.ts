import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
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
  const headers: Record<string, string> = { ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] ??= 'application/json';
  } else if (request.body !== undefined) {
    body = request.body.toString();
    // What fetch() would have said for these bodies.
    headers['content-type'] ??= request.body instanceof URLSearchParams ? 'application/x-www-form-urlencoded;charset=UTF-8' : 'text/plain;charset=UTF-8';
  }
  try {
    const answer = await exchange(url, request.method ?? 'POST', headers, body, request.timeoutMs);
    const requestId = (request.requestIdHeaders ?? []).map((name) => answer.headers.get(name)).find((value): value is string => !!value);
    return {
      ok: true,
      response: { status: answer.status, headers: answer.headers, text: answer.text, json: parseJson(answer.text), requestId, latencyMs: elapsed(started) },
    };
  } catch (error) {
    const latencyMs = elapsed(started);
    if (error instanceof TimedOut) {
      return { ok: false, latencyMs, failure: { ok: false, permanent: false, code: 'provider.timeout', reason: `No answer within ${request.timeoutMs} ms` } };
    }
    // Some URLs carry a credential (Telegram's /bot<token>/): an error quoting the URL must not store it.
    const reason = describe(error).split(url).join(redact(url));
    return { ok: false, latencyMs, failure: { ok: false, permanent: false, code: 'provider.network_error', reason } };
  }
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

/*
 * Connections to providers are kept alive and reused: a send then costs one request on an open socket,
 * not a TCP (and TLS) handshake. node:http rather than fetch(): the same exchange for a fraction of
 * the CPU (no web streams), which matters at hundreds of sends a second.
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' } as const;
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent(AGENT_OPTIONS);

class TimedOut extends Error {}

/** One request; redirects are answered as they are, never followed. Rejects on no answer (TimedOut, network errors). */
function exchange(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = (secure ? https : http).request(target, { method, headers, agent: secure ? httpsAgent : httpAgent });
    let timedOut = false;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(timedOut ? new TimedOut() : error);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new TimedOut());
    }, timeoutMs);
    req.on('error', fail);
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
      });
      response.on('error', fail);
      response.on('aborted', () => fail(new Error('the provider closed the connection mid-answer')));
      response.on('end', () => {
        clearTimeout(timer);
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined) continue;
          for (const one of Array.isArray(value) ? value : [value]) answerHeaders.append(name, one);
        }
        resolve({ status: response.statusCode ?? 0, headers: answerHeaders, text: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') });
      });
    });
    req.end(body);
  });
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
