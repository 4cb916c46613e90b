import { request } from 'undici';
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
 * to the address that was checked). Only a 2xx answer succeeds; a redirect is not followed (undici's
 * request never follows one), so a 3xx is a failure like any other.
 */
export async function sendWebhook(guard: OutboundGuard, req: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const timestamp = Math.floor(req.timestamp.getTime() / 1000);
  const problem = guard.urlProblem(req.url);
  if (problem) return { succeeded: false, statusCode: null, latencyMs: 0, responseExcerpt: null, error: `The endpoint URL ${problem}` };
  const signal = AbortSignal.timeout(req.timeoutMs);
  try {
    const answer = await request(req.url, {
      method: 'POST',
      dispatcher: guard.dispatcher,
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Ferry-Webhooks/1',
        'webhook-id': req.webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': standardWebhookSignatures(req.secrets, req.webhookId, timestamp, req.body),
      },
      body: req.body,
    });
    const excerpt = await readExcerpt(answer.body);
    const succeeded = answer.statusCode >= 200 && answer.statusCode < 300;
    return {
      succeeded,
      statusCode: answer.statusCode,
      latencyMs: elapsed(started),
      responseExcerpt: excerpt,
      error: succeeded ? null : answer.statusCode >= 300 && answer.statusCode < 400 ? `Redirect (${answer.statusCode}) not followed` : `HTTP ${answer.statusCode}`,
    };
  } catch (error) {
    const latencyMs = elapsed(started);
    if (signal.aborted) return { succeeded: false, statusCode: null, latencyMs, responseExcerpt: null, error: `No answer within ${req.timeoutMs} ms` };
    return { succeeded: false, statusCode: null, latencyMs, responseExcerpt: null, error: describe(error) };
  }
}

async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_READ_BYTES) break;
    }
  } catch {
    // A body cut short still leaves what arrived for the log.
  } finally {
    body.destroy();
  }
  const text = Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_CHARS);
  return text === '' ? null : text;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
