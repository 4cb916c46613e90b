import type { PlanLimits, PlanName } from '#config';
import type { JobContext } from '#queue';

/** GET /v1/billing. `self_hosted`: billing is off on this installation and nothing is limited. */
export interface BillingOverview {
  plan: PlanName | 'self_hosted';
  /** Stripe's subscription status (`none` before any subscription, `active` when self-hosted). */
  status: string;
  currentPeriodEnd: string | null;
  /** While past_due: when sending stops. */
  graceEndsAt: string | null;
  limits: PlanLimits;
  usage: { seats: number; inboxes: number; messagesThisMonth: number };
}

export interface CheckoutInput {
  plan: 'team' | 'business';
  /** Seats to buy; defaults to the current number of members. */
  seats?: number;
}

/** What the API asks of billing. Two implementations: Stripe, and the no-op one when billing is off. */
export abstract class BillingService {
  abstract overview(workspaceId: string): Promise<BillingOverview>;
  abstract checkout(workspaceId: string, input: CheckoutInput): Promise<{ url: string }>;
  abstract portal(workspaceId: string): Promise<{ url: string }>;
  /** POST /hooks/stripe: verifies the signature on the raw bytes, stores the event once, queues it. */
  abstract receiveStripeHook(rawBody: Buffer, signature: string | undefined): Promise<{ received: true }>;
}

/** What the edge (guards in apps/api) asks before it lets a request change something a plan limits. */
export const ENTITLED_ACTIONS = ['member.invite', 'member.accept', 'inbox.create', 'message.send'] as const;
export type EntitledAction = (typeof ENTITLED_ACTIONS)[number];

export abstract class Entitlements {
  /** Throws DomainError `billing.limit_reached` or `billing.past_due` (402) when the plan does not allow it. */
  abstract assertAllowed(workspaceId: string, action: EntitledAction): Promise<void>;
}

/** The worker's billing jobs (libs/queue job catalogue). */
export abstract class BillingJobs {
  abstract event(workspaceId: string, eventId: string): Promise<void>;
  /** Counts each message once (a message offered again is not counted again). */
  abstract usage(workspaceId: string, messageIds: string[]): Promise<void>;
  abstract report(workspaceId: string, job: JobContext): Promise<void>;
  abstract seats(workspaceId: string): Promise<void>;
}
