import { randomBytes } from 'node:crypto';

/** A Stripe-like id: prefix_ and 24 random characters. */
export function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString('base64url').replace(/[-_]/g, '').slice(0, 24).padEnd(24, '0')}`;
}

export const now = (): number => Math.floor(Date.now() / 1000);

export type StripeObject = Record<string, unknown> & { id: string };

export interface RecordedCall {
  method: string;
  path: string;
  idempotencyKey: string | null;
  params: Record<string, unknown>;
  at: string;
}

export interface MeterEventRecord {
  identifier: string;
  event_name: string;
  payload: Record<string, string>;
  timestamp: number;
  /** A repeat of an identifier already counted: refused, as Stripe does, and not counted. */
  duplicate: boolean;
}

export interface SentEvent {
  event: StripeObject;
  deliveries: Array<{ status: number; body: unknown }>;
}

/** Ferry's side of the Stripe account: the key it uses, where its webhook is, the secret it verifies with. */
export interface StripeSimConfig {
  apiKey: string | null;
  webhookUrl: string | null;
  webhookSecret: string;
}

/** Everything the Stripe simulator holds; reset() forgets it. */
export class StripeStore {
  config: StripeSimConfig = { apiKey: null, webhookUrl: null, webhookSecret: 'whsec_ferry_simulator' };
  readonly customers = new Map<string, StripeObject>();
  readonly sessions = new Map<string, StripeObject>();
  readonly subscriptions = new Map<string, StripeObject>();
  readonly meterEvents: MeterEventRecord[] = [];
  readonly calls: RecordedCall[] = [];
  readonly events: SentEvent[] = [];
  /** Idempotency-Key → the first answer (Stripe replays it for 24 h). */
  readonly idempotent = new Map<string, { status: number; body: unknown }>();
  /** How long a meter event call waits after recording, before answering (a crash in that gap is a test). */
  meterEventDelayMs = 0;

  reset(): void {
    this.config = { apiKey: null, webhookUrl: null, webhookSecret: 'whsec_ferry_simulator' };
    for (const map of [this.customers, this.sessions, this.subscriptions, this.idempotent]) map.clear();
    this.meterEvents.length = 0;
    this.calls.length = 0;
    this.events.length = 0;
    this.meterEventDelayMs = 0;
  }

  /** Meter events counted (identifier dedupe applied): the total value per customer. */
  meterTotals(): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const event of this.meterEvents) {
      if (event.duplicate) continue;
      const customer = event.payload['stripe_customer_id'] ?? '';
      totals[customer] = (totals[customer] ?? 0) + Number(event.payload['value'] ?? 0);
    }
    return totals;
  }
}
