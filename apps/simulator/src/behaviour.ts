import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider } from './accounts.js';
import { SimInputError, asRecord, optNumber } from './input.js';

/**
 * How a provider answers Ferry's sends (message endpoints only; token and control endpoints are not
 * affected). `fail` answers every call with a transient error (5xx, or 429 with the provider's
 * rate-limit code when failStatus is 429); `fail-half` fails every other call; `slow` delays answers
 * by delayMs; `silent` accepts but never posts receipts; `lost-response` accepts the message (it is
 * recorded and its receipts are posted) and then drops the connection, leaving Ferry's attempt in doubt.
 */
export const MODES = ['ok', 'fail', 'fail-half', 'slow', 'silent', 'lost-response'] as const;
export type Mode = (typeof MODES)[number];

export interface Behaviour {
  mode: Mode;
  /** Added before every answer (default 1000 in `slow`, 0 otherwise). */
  delayMs: number;
  /** HTTP status of a scripted failure (default 503; 429 gives the provider's rate-limit error). */
  failStatus?: number;
  /** The provider's error code in a scripted failure's body. */
  failCode?: number;
  /** Wait before each delivery receipt (WhatsApp statuses, Twilio status callbacks). */
  receiptDelayMs: number;
  /**
   * Receipts posted after a send, in order: WhatsApp sent|delivered|read|failed (default sent,
   * delivered, read); Twilio sent|delivered|undelivered|failed (default sent, delivered).
   */
  receipts?: string[];
  /** Error code on a failed/undelivered receipt (WhatsApp default 131026, Twilio default 30003). */
  receiptErrorCode?: number;
}

export const DEFAULT_BEHAVIOUR: Behaviour = { mode: 'ok', delayMs: 0, receiptDelayMs: 20 };

const RECEIPTS: Partial<Record<Provider, readonly string[]>> = {
  whatsapp: ['sent', 'delivered', 'read', 'failed'],
  sms: ['sent', 'delivered', 'undelivered', 'failed'],
};

export function parseBehaviour(provider: Provider, input: unknown): Behaviour {
  const body = asRecord(input, 'behaviour');
  const mode = body['mode'] ?? 'ok';
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) throw new SimInputError(`mode must be one of ${MODES.join(', ')}`);
  const delayMs = optNumber(body, 'delayMs') ?? (mode === 'slow' ? 1000 : 0);
  const failStatus = optNumber(body, 'failStatus');
  if (failStatus !== undefined && (!Number.isInteger(failStatus) || failStatus < 400 || failStatus > 599)) throw new SimInputError('failStatus must be 400-599');
  const receipts = body['receipts'];
  if (receipts !== undefined) {
    const allowed = RECEIPTS[provider];
    if (!allowed) throw new SimInputError(`${provider} posts no delivery receipts`);
    if (!Array.isArray(receipts) || receipts.some((r) => typeof r !== 'string' || !allowed.includes(r))) {
      throw new SimInputError(`receipts must list statuses among ${allowed.join(', ')}`);
    }
  }
  if (delayMs < 0) throw new SimInputError('delayMs must not be negative');
  return {
    mode: mode as Mode,
    delayMs,
    failStatus,
    failCode: optNumber(body, 'failCode'),
    receiptDelayMs: optNumber(body, 'receiptDelayMs') ?? DEFAULT_BEHAVIOUR.receiptDelayMs,
    receipts: receipts as string[] | undefined,
    receiptErrorCode: optNumber(body, 'receiptErrorCode'),
  };
}

/** What a send does after the behaviour is applied. */
export type Gate = 'accept' | 'fail' | 'lose';

export class Behaviours {
  private readonly current = new Map<Provider, Behaviour>();
  private readonly calls = new Map<Provider, number>();

  get(provider: Provider): Behaviour {
    return this.current.get(provider) ?? DEFAULT_BEHAVIOUR;
  }

  set(provider: Provider, behaviour: Behaviour): void {
    this.current.set(provider, behaviour);
    this.calls.set(provider, 0);
  }

  /** Applies the delay, then says whether this call goes through. `fail-half` fails the 1st, 3rd, 5th... call. */
  async gate(provider: Provider): Promise<Gate> {
    const behaviour = this.get(provider);
    if (behaviour.delayMs > 0) await sleep(behaviour.delayMs);
    const call = (this.calls.get(provider) ?? 0) + 1;
    this.calls.set(provider, call);
    if (behaviour.mode === 'fail') return 'fail';
    if (behaviour.mode === 'fail-half') return call % 2 === 1 ? 'fail' : 'accept';
    if (behaviour.mode === 'lost-response') return 'lose';
    return 'accept';
  }

  receiptsOn(provider: Provider): boolean {
    return this.get(provider).mode !== 'silent';
  }

  reset(): void {
    this.current.clear();
    this.calls.clear();
  }
}
