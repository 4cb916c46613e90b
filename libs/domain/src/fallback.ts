import type { Channel, MessageStatus } from './enums.js';

/*
 * Fallback: the rules of a message that travels over a route of identities (the one it is addressed
 * to, then its `fallback` list in order). Pure, with the clock passed in. The worker applies them
 * (libs/messaging delivery/fallback.service.ts) with the message row locked.
 */

/** Why the worker left a hop for the next identity (recorded on the hop's last attempt). */
export const FALLBACK_REASONS = ['provider_failed', 'receipt_failed', 'unreachable', 'no_receipt'] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

/**
 * Whether the channel's provider reports delivery (a receipt after the send). Only there can "no
 * receipt by the deadline" mean the message did not arrive; on the others the deadline never starts
 * (it would fall back after every successful send). To add a channel, say whether it reports.
 */
export const REPORTS_DELIVERY: { readonly [C in Channel]: boolean } = {
  whatsapp: true,
  sms: true,
  wechat: false,
  line: false,
  email: false,
  telegram: false,
  webchat: false,
  api: false,
};

/**
 * The identities still ahead of `currentIdentityId` on a route whose hops after the first are
 * `fallback` (the message stays on one identity at a time; identity ids are unique on a route).
 * A message on its first identity (or one whose identity was deleted) has the whole list ahead.
 */
export function routeAhead(currentIdentityId: string | null, fallback: readonly string[]): string[] {
  const at = currentIdentityId === null ? -1 : fallback.indexOf(currentIdentityId);
  return fallback.slice(at + 1);
}

/** Whether the deadline check is worth scheduling after a hop was accepted by its provider. */
export function startsDeadline(channel: Channel, ahead: readonly string[]): boolean {
  return ahead.length > 0 && REPORTS_DELIVERY[channel];
}

export interface DeadlineState {
  now: Date;
  dueAt: Date;
  message: { status: MessageStatus; identityId: string | null; externalId: string | null } | null;
  /** The attempt whose deadline this is (fallbackCheckedAt: when a run of the check decided on it). */
  attempt: { identityId: string | null; providerMessageId: string | null; receiptStatus: MessageStatus | null; fallbackCheckedAt?: Date | null } | null;
}

export type DeadlineDecision = { kind: 'wait'; delayMs: number } | { kind: 'stop'; reason: string } | { kind: 'hop' };

/**
 * What the deadline check (`message.fallback_check`) does. It waits until the deadline; then it
 * hops only if the attempt is still the message's current one (same identity, same provider id,
 * message still `sent`) and no receipt said delivered. A receipt that arrived first, a hop that
 * already happened (a permanent failure, a failed receipt), a resend: each makes the check a no-op,
 * so it can run any number of times. The deadline is decided once: a run that finds it decided
 * already (the hop stayed where it was, having nowhere to go) stops too.
 */
export function deadlineDecision(state: DeadlineState): DeadlineDecision {
  const remaining = state.dueAt.getTime() - state.now.getTime();
  if (remaining > 0) return { kind: 'wait', delayMs: remaining };
  const { message, attempt } = state;
  if (!message || !attempt) return { kind: 'stop', reason: 'message or attempt gone' };
  if (message.status !== 'sent') return { kind: 'stop', reason: `message is ${message.status}` };
  if (attempt.identityId !== message.identityId || attempt.providerMessageId !== message.externalId) {
    return { kind: 'stop', reason: 'the attempt is no longer the current hop' };
  }
  if (attempt.receiptStatus === 'delivered' || attempt.receiptStatus === 'read') return { kind: 'stop', reason: 'delivered' };
  if (attempt.fallbackCheckedAt) return { kind: 'stop', reason: 'the deadline was decided already' };
  return { kind: 'hop' };
}

export type ReceiptEffect =
  /** The receipt is about the current hop: the message follows it (through canTransition). */
  | { kind: 'current' }
  /** An earlier hop's receipt: recorded on its attempt only, the message does not move. */
  | { kind: 'attempt_only' }
  /** An earlier hop's receipt says the customer got it: the message is delivered via that hop. */
  | { kind: 'adopt'; status: 'delivered' | 'read' };

/**
 * What a receipt does to its message. The message's status follows its current hop only, so a late
 * receipt of an earlier hop never makes it "delivered twice" nor fails it. One exception, by design:
 * an earlier hop reporting delivered (or read) while the message is not yet delivered on the current
 * hop (queued for the next hop, sent on it, or failed at the end of the route) means the customer
 * did get it: the message adopts that hop (its identity, inbox and provider id) and is delivered,
 * which also cancels any hop still to come (the send job finds it no longer queued). If the later
 * hop was already with its provider it may still arrive; its receipts are then recorded on its own
 * attempt only, and the message keeps one final state.
 */
export function receiptEffect(
  message: { status: MessageStatus; identityId: string | null },
  attempt: { identityId: string | null } | null,
  status: MessageStatus,
): ReceiptEffect {
  if (!attempt || attempt.identityId === message.identityId) return { kind: 'current' };
  const settled = message.status === 'delivered' || message.status === 'read';
  if ((status === 'delivered' || status === 'read') && !settled) return { kind: 'adopt', status };
  return { kind: 'attempt_only' };
}
