import { canTransition, type MessageDirection, type MessageStatus } from '#domain';
import type { SendOutcome } from '#channels';

/*
 * The decisions of message delivery, without I/O: whether a job sends now, waits or stops, and
 * what a provider's answer does to the attempt and the message.
 */

/**
 * An attempt's life: `sending` is written before the provider call, so a crash leaves it behind;
 * `in_doubt` is a call that timed out (it may have reached the provider); both are "open" until a
 * receipt or the grace period settles them. `unconfirmed` closes an open attempt that got neither
 * an answer nor a receipt in time (the message was then sent again).
 */
export const ATTEMPT_STATUSES = ['sending', 'in_doubt', 'sent', 'retrying', 'failed', 'unconfirmed'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];
export const OPEN_ATTEMPT_STATUSES: readonly AttemptStatus[] = ['sending', 'in_doubt'];

/** How long a message waits, at most, for the one written before it to leave (it is woken earlier). */
export const ORDER_WAIT_MS = 2000;

export interface SendState {
  message: { direction: MessageDirection; status: MessageStatus } | null;
  /** The latest earlier message of the conversation still queued to go out, if any. */
  earlierQueuedId: string | null;
  /** An attempt left open by an earlier run: how long ago it started. */
  openAttempt: { id: string; ageMs: number } | null;
  inDoubtGraceMs: number;
}

export type SendStep =
  | { kind: 'skip'; reason: string }
  | { kind: 'wait'; delayMs: number; reason: 'order' | 'in_doubt'; blockerId?: string }
  | { kind: 'send'; unconfirmedAttemptId: string | null };

/**
 * What a `message.send` run does. Only a queued outbound message is sent (a note, a received
 * message, one already sent or failed: nothing to do). It waits for the earlier messages of its
 * conversation, and for the receipt of a try left in doubt before it sends again.
 */
export function nextStep(state: SendState): SendStep {
  const { message } = state;
  if (!message) return { kind: 'skip', reason: 'message not found' };
  if (message.direction !== 'out') return { kind: 'skip', reason: `a ${message.direction} message is not sent` };
  if (message.status !== 'queued') return { kind: 'skip', reason: `already ${message.status}` };
  if (state.earlierQueuedId) return { kind: 'wait', delayMs: ORDER_WAIT_MS, reason: 'order', blockerId: state.earlierQueuedId };
  if (state.openAttempt) {
    const remaining = state.inDoubtGraceMs - state.openAttempt.ageMs;
    if (remaining > 0) return { kind: 'wait', delayMs: Math.ceil(remaining), reason: 'in_doubt' };
    return { kind: 'send', unconfirmedAttemptId: state.openAttempt.id };
  }
  return { kind: 'send', unconfirmedAttemptId: null };
}

export interface OutcomePlan {
  attempt: {
    status: AttemptStatus;
    providerMessageId: string | null;
    providerRequestId: string | null;
    responseCode: string | null;
    errorCode: string | null;
    error: string | null;
  };
  /**
   * What happens to the message: `sent` records the provider's id (and moves it to sent unless a
   * receipt already moved it further); null leaves it as it is (queued for a retry, or settled by a receipt).
   */
  message: { kind: 'sent'; externalId: string; advance: boolean } | { kind: 'failed'; errorCode: string; errorReason: string } | null;
  /** Set when the job must be tried again. */
  retry: { reason: string; retryAfterMs?: number } | null;
}

/**
 * A timeout may have reached the provider, and so may an adapter that threw halfway; an answered
 * error or a refused connection did not.
 */
function mayHaveArrived(code: string): boolean {
  return code === 'provider.timeout' || code === 'adapter.error';
}

/**
 * What a provider's answer does. `current` is the message's status now (a receipt may have moved it
 * while we waited for the answer); `lastTry` is the job's final try, after which a transient failure
 * fails the message with its reason.
 */
export function planOutcome(outcome: SendOutcome, current: MessageStatus, lastTry: boolean): OutcomePlan {
  const ids = { providerRequestId: outcome.providerRequestId ?? null, responseCode: outcome.responseCode ?? null };
  if (outcome.ok) {
    return {
      attempt: { status: 'sent', providerMessageId: outcome.providerMessageId, ...ids, errorCode: null, error: null },
      message: { kind: 'sent', externalId: outcome.providerMessageId, advance: canTransition(current, 'sent') },
      retry: null,
    };
  }
  const error = { providerMessageId: null, ...ids, errorCode: outcome.code, error: outcome.reason };
  // A receipt got there first and settled it, whatever this answer says.
  if (current !== 'queued') return { attempt: { status: current === 'failed' ? 'failed' : 'sent', ...error }, message: null, retry: null };
  if (outcome.permanent || lastTry) {
    return {
      attempt: { status: 'failed', ...error },
      message: { kind: 'failed', errorCode: outcome.code, errorReason: outcome.reason },
      retry: null,
    };
  }
  return {
    attempt: { status: mayHaveArrived(outcome.code) ? 'in_doubt' : 'retrying', ...error },
    message: null,
    retry: { reason: `${outcome.code}: ${outcome.reason}`, ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}) },
  };
}
