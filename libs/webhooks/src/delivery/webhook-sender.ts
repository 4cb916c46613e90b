import type { Dispatcher } from 'undici';
import { type OutboundGuard, standardWebhookSignatures } from '#net';

/** One signed POST of a delivery's body. */
export interface WebhookRequest {
  url: string;
  /** The event id: the same on every try and every replay, so the receiver can deduplicate. */
  webhookId: string;
  timestamp: Date;
  body: string;
  /** Every secret that signs now (the current one, and the previous one within 24 h of a rotation). */
  secrets: readonly string[];
  timeoutMs: number;
}

export interface WebhookResponse {
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  /** The first characters of the answer, for the delivery log. */
  responseExcerpt: string | null;
  error: string | null;
}

const EXCERPT_CHARS = 1000;
const MAX_READ_BYTES = 16 * 1024;

/**
 * Sends one webhook the Standard Webhooks way, through the SSRF guard's dispatcher (the socket goes
 * to the address that was checked). Only a 2xx answer succeeds; a redirect is not followed (a bare
 * dispatch never follows one), so a 3xx is a failure like any other. The answer is judged by its
 * status once its headers arrive; its body is read for the log only, up to MAX_READ_BYTES, and a body
 * cut short still leaves what arrived.
 *
 * undici's dispatch() with a handler rather than request(): a fan-out sends thousands of these a
 * second, and request()'s body stream, async iteration and abort signal cost more CPU than the rest
 * of the send (180 against 75 µs a request, measured). One timer bounds the whole exchange.
 */
export function sendWebhook(guard: OutboundGuard, req: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const timestamp = Math.floor(req.timestamp.getTime() / 1000);
  const problem = guard.urlProblem(req.url);
  if (problem) return Promise.resolve({ succeeded: false, statusCode: null, latencyMs: 0, responseExcerpt: null, error: `The endpoint URL ${problem}` });
  return new Promise((resolve) => {
    let statusCode: number | null = null;
    const chunks: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
    // At the deadline the send is over, even one still queued for a connection (aborted once it starts).
    const timer = setTimeout(() => {
      timedOut = true;
      settle(null);
      controller?.abort(new Error(`No answer within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    const settle = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const latencyMs = Math.round(performance.now() - started);
      if (statusCode === null) {
        resolve({ succeeded: false, statusCode: null, latencyMs, responseExcerpt: null, error: timedOut ? `No answer within ${req.timeoutMs} ms` : describe(error) });
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_CHARS);
      const succeeded = statusCode >= 200 && statusCode < 300;
      resolve({
        succeeded,
        statusCode,
        latencyMs,
        responseExcerpt: text === '' ? null : text,
        error: succeeded ? null : statusCode >= 300 && statusCode < 400 ? `Redirect (${statusCode}) not followed` : `HTTP ${statusCode}`,
      });
    };
    const url = new URL(req.url);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(dispatch) {
        controller = dispatch;
        if (timedOut) dispatch.abort(new Error(`No answer within ${req.timeoutMs} ms`));
      },
      onResponseStart(_controller, status) {
        if (status >= 200) statusCode = status; // 1xx are interim answers
      },
      onResponseData(reading, chunk) {
        chunks.push(chunk);
        size += chunk.length;
        // Enough for the log: the rest is not read, and the connection is not reused.
        if (size >= MAX_READ_BYTES) {
          settle(null);
          reading.abort(new Error('Answer longer than the delivery log keeps'));
        }
      },
      onResponseEnd: () => settle(null),
      onResponseError: (_controller, error) => settle(error),
    };
    try {
      guard.dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: [
            'content-type',
            'application/json',
            'user-agent',
            'Ferry-Webhooks/1',
            'webhook-id',
            req.webhookId,
            'webhook-timestamp',
            String(timestamp),
            'webhook-signature',
            standardWebhookSignatures(req.secrets, req.webhookId, timestamp, req.body),
          ],
          body: req.body,
        },
        handler,
      );
    } catch (error) {
      settle(error);
    }
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
