import type { FastifyBaseLogger } from 'fastify';
import type { ReceiptRecord, SentRecord } from './state.js';

/** Ferry's answer to one post (status 0 when it could not be reached). */
export interface HookDelivery {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What an inbound trigger answers: Ferry's answer to the first delivery, and to every redelivery. */
export interface InboundResult extends HookDelivery {
  url: string;
  /** The exact body posted (for multipart: the form fields). */
  payload: unknown;
  /** The provider's ids of this event (message id, user id, reply token...). */
  event: Record<string, unknown>;
  deliveries: HookDelivery[];
}

export interface OutgoingRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | FormData;
}

const HOOK_TIMEOUT_MS = 15_000;
/** Providers retry a receipt Ferry did not take (Meta for days; here for about 20 seconds). */
const RECEIPT_ATTEMPTS = 10;
const RECEIPT_BACKOFF_MS = 100;
const RECEIPT_BACKOFF_CAP_MS = 5_000;

/** Posts to Ferry's hooks, and owns every pending receipt timer so reset and close can cancel them. */
export class HookClient {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private generation = 0;

  constructor(private readonly log: FastifyBaseLogger) {}

  async send(url: string, request: OutgoingRequest): Promise<HookDelivery> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), HOOK_TIMEOUT_MS);
    try {
      const response = await fetch(url, { method: request.method ?? 'POST', headers: request.headers, body: request.body, signal: controller.signal });
      const text = await response.text();
      let body: unknown = text;
      if ((response.headers.get('content-type') ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text
        }
      }
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    } catch (error) {
      return { status: 0, headers: {}, body: { error: error instanceof Error ? error.message : String(error) } };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  /** Posts the same event `1 + repeat` times, as a provider redelivering it. */
  async deliver(url: string, build: (attempt: number) => OutgoingRequest, repeat: number): Promise<HookDelivery[]> {
    const deliveries: HookDelivery[] = [];
    for (let attempt = 0; attempt <= repeat; attempt++) deliveries.push(await this.send(url, build(attempt)));
    return deliveries;
  }

  /**
   * Posts a message's receipts in order, each after `delayMs`, each retried until Ferry answers 2xx.
   * `build` makes the request for one status (it may be re-signed per attempt).
   */
  receipts(record: SentRecord, url: string, statuses: string[], delayMs: number, build: (status: string) => OutgoingRequest): void {
    const generation = this.generation;
    const post = async (index: number): Promise<void> => {
      const status = statuses[index];
      if (status === undefined || generation !== this.generation) return;
      const receipt: ReceiptRecord = { status, httpStatus: 0, attempts: 0, postedAt: new Date().toISOString() };
      record.receipts.push(receipt);
      for (let attempt = 0; attempt < RECEIPT_ATTEMPTS && generation === this.generation; attempt++) {
        if (attempt > 0) await this.wait(Math.min(RECEIPT_BACKOFF_MS * 2 ** (attempt - 1), RECEIPT_BACKOFF_CAP_MS));
        if (generation !== this.generation) return;
        const answer = await this.send(url, build(status));
        receipt.attempts = attempt + 1;
        receipt.httpStatus = answer.status;
        receipt.postedAt = new Date().toISOString();
        if (answer.status >= 200 && answer.status < 300) break;
        this.log.debug({ url, status, answer: answer.status }, 'receipt not taken; retrying');
      }
      this.later(delayMs, () => void post(index + 1));
    };
    this.later(delayMs, () => void post(0));
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }

  /** Drops every scheduled receipt and aborts posts in flight. */
  cancelAll(): void {
    this.generation++;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
  }
}
