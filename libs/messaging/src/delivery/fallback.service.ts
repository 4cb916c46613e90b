/*
 * Fallback hops: a message travels over a route of identities (the one it is addressed to, then its
 * `fallback` list, or the workspace's default policy) and is on exactly one of them at a time
 * (messages.identity_id / inbox_id). The worker leaves a hop when:
 * - its provider refuses the message for good (45015, 131047, any permanent error), or a transient
 *   failure outlasts the job's tries (DeliveryService.settle);
 * - its identity cannot take the message at send time (window closed, quota used, unsubscribed,
 *   identity or inbox gone) (DeliveryService.claim);
 * - its provider reports it failed in a receipt (StatusService);
 * - it reports no delivery within FALLBACK_DELIVERY_DEADLINE_MS of being sent (the
 *   `message.fallback_check` job, written through the outbox in the transaction that marks the hop
 *   sent, so a crash cannot lose it).
 * Leaving a hop, in one transaction with the message row locked: the hop's last attempt records why
 * (fallback_reason), the message moves to the next identity that can take it now (ReachabilityService)
 * and is queued again with a new `message.send` job in the same transaction. Each hop is then an
 * ordinary send (claim, call, settle): a crash at any point leaves Postgres saying what is left to
 * do, and the next hop happens once. With no identity left the message fails with the last reason
 * (except at a deadline: a sent message that may yet arrive is left sent, the deadline's decision
 * recorded on the hop's attempt: fallback_checked_at).
 */
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { assessReachability, type Channel, deadlineDecision, hasSendQuota, DomainError, type FallbackReason, isUuid, routeAhead, startsDeadline, uuidv7 } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { type JobPayloads, JobDeferred, Outbox } from '#queue';
import { EventWriter } from '../events/event-writer.js';
import { CLOCK, type Clock } from '../reachability/clock.js';
import { ReachabilityService } from '../reachability/reachability.service.js';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { FallbackRepository } from './fallback.repository.js';
import { type OutboundRow, OutboundMessagesRepository } from './outbound-messages.repository.js';

/** What the send-time check reads of the identity (the row delivery already has). */
export interface IdentityWindow {
  id: string;
  channel: Channel;
  lastInboundAt: Date | null;
  unsubscribedAt?: Date | null;
}

export interface HopFailure {
  code: string;
  reason: string;
}

/** What leaving a hop did: moved the message on, failed it (route exhausted), or left it as it was. */
export type HopResult = { kind: 'hopped'; identityId: string; inboxId: string } | { kind: 'failed' } | { kind: 'stayed' };

@Injectable()
export class FallbackService {
  constructor(
    private readonly db: TenantDb,
    private readonly reachability: ReachabilityService,
    private readonly repository: FallbackRepository,
    private readonly messages: OutboundMessagesRepository,
    private readonly attempts: DeliveryAttemptsRepository,
    private readonly outbox: Outbox,
    private readonly events: EventWriter,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Whether the message's current identity can take it now, and if not, why: checked by the worker
   * right before the provider call, from the identity row it already read; only a channel with a
   * quota costs a query (the count, this queued message itself not counted).
   */
  async unreachableNow(tx: TenantTx, message: OutboundRow, identity: IdentityWindow): Promise<HopFailure | null> {
    const reachability = hasSendQuota(identity.channel)
      ? (await this.reachability.identities(tx, [identity.id], message.id))[0]
      : { channel: identity.channel, ...assessReachability({ ...identity, sentSinceInbound: 0, replyTokenExpiresAt: null, unsubscribedAt: identity.unsubscribedAt ?? null }, this.clock()) };
    if (!reachability) return { code: 'reachability.no_identity', reason: 'The identity or inbox this message was addressed to no longer exists' };
    // The template was checked against its own inbox at the API; on a later hop it is plain text.
    if (message.template ? reachability.templatesAllowed : reachability.canSendFreeForm) return null;
    const code = reachability.reason ?? 'reachability.window_closed';
    return { code, reason: `The ${identity.channel} identity could not take the message when it was to be sent (${code})` };
  }

  /**
   * Leaves the message's current hop for the next identity of its route that can take it now.
   * `attemptId` is the hop's last attempt (null: none was made, one is recorded as failed with the
   * failure). Without a next identity the message fails with `failure`, unless `failIfExhausted` is
   * false (the deadline: it stays as it is). The message row must be locked by the caller.
   */
  async leave(
    tx: TenantTx,
    message: OutboundRow,
    attemptId: string | null,
    why: FallbackReason,
    failure: HopFailure,
    failIfExhausted = true,
  ): Promise<HopResult> {
    const next = await this.reachability.nextHop(tx, routeAhead(message.identityId, message.fallback), message.id);
    if (!next && !failIfExhausted) return { kind: 'stayed' };
    let left = attemptId;
    if (!left && message.channel) {
      left = uuidv7();
      const attempt = { id: left, messageId: message.id, identityId: message.identityId, inboxId: message.inboxId, channel: message.channel };
      await this.attempts.insertFailed(tx, attempt, failure.code, failure.reason);
    }
    if (!next) {
      await this.messages.markFailed(tx, message.id, failure.code, failure.reason);
      return { kind: 'failed' };
    }
    if (left) await this.repository.markLeft(tx, left, why);
    await this.repository.closeOpen(tx, message.id);
    await this.repository.moveToHop(tx, message.id, next.identityId, next.inboxId);
    await this.outbox.write(tx, 'message.send', { workspaceId: tx.workspaceId, messageId: message.id });
    return { kind: 'hopped', identityId: next.identityId, inboxId: next.inboxId };
  }

  /**
   * Starts the delivery deadline of a hop its provider just accepted, in the caller's transaction:
   * only where the channel reports delivery and the route has an identity left to go on to.
   */
  async startDeadline(tx: TenantTx, message: OutboundRow, attemptId: string, channel: Channel): Promise<void> {
    if (!startsDeadline(channel, routeAhead(message.identityId, message.fallback))) return;
    const dueAt = new Date(this.clock().getTime() + this.config.delivery.fallbackDeadlineMs).toISOString();
    await this.outbox.write(tx, 'message.fallback_check', { workspaceId: tx.workspaceId, messageId: message.id, attemptId, dueAt });
  }

  /**
   * The `message.fallback_check` job: defers itself until the deadline, then hops if the attempt is
   * still the current one without a delivered receipt (deadlineDecision). Idempotent: a second run
   * finds the message queued on the next hop (or delivered), or the deadline decided, and stops. The
   * message row lock orders it with a receipt arriving at the same moment: whichever commits first,
   * the other sees it. A decision on a hop still current at its deadline is recorded on its attempt
   * in the same transaction (markChecked), whatever it is: the relay's recovery, which revives a check
   * lost in BullMQ, tells a check that ran and left the message as it was from one that never ran by
   * that alone (a crash before the commit leaves neither the decision nor the record).
   */
  async check(payload: JobPayloads['message.fallback_check']): Promise<void> {
    const { workspaceId, messageId, attemptId } = payload;
    const dueAt = new Date(payload.dueAt);
    if (!isUuid(workspaceId) || !isUuid(messageId) || !isUuid(attemptId) || Number.isNaN(dueAt.getTime())) {
      throw DomainError.invalid('delivery.invalid_job', 'message.fallback_check needs a workspaceId, a messageId, an attemptId and a dueAt');
    }
    const early = dueAt.getTime() - this.clock().getTime();
    if (early > 0) throw new JobDeferred(early, 'fallback deadline not reached');
    await this.db.run(workspaceId, async (tx) => {
      const message = await this.messages.lockForSend(tx, messageId);
      const attempt = await this.repository.findAttempt(tx, attemptId);
      const decision = deadlineDecision({ now: this.clock(), dueAt, message, attempt });
      if (decision.kind !== 'hop' || !message) return;
      await this.repository.markChecked(tx, attemptId);
      // A delivered receipt still in the status queue's backlog wins the race too.
      if (await this.repository.deliveredPending(tx, attempt?.inboxId ?? null, attempt?.providerMessageId ?? null)) return;
      const seconds = Math.round(this.config.delivery.fallbackDeadlineMs / 1000);
      const left = await this.leave(tx, message, attemptId, 'no_receipt', { code: 'delivery.no_receipt', reason: `No delivery receipt within ${seconds} s` }, false);
      if (left.kind !== 'stayed') await this.events.message(tx, 'message.updated', messageId);
    });
  }
}
