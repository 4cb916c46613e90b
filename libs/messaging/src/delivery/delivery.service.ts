/*
 * Delivery of one outbound message (the `message.send` job), safe against a crash at any moment:
 * 1. claim, in one transaction with the message row locked: skip unless it is queued; wait while an
 *    earlier message of its conversation is queued; take a rate-limit slot of its inbox; record the
 *    attempt as `sending` and commit, BEFORE the provider is called;
 * 2. call the provider, outside any transaction;
 * 3. record the answer in one transaction: the attempt, and the message sent (with the provider's
 *    id) or failed (with the provider's code and reason), or left queued for a retry.
 * Steps 1 and 3 are group commits (send-claims.ts, sent-settler.ts): the runs of one workspace that claim,
 * or settle an accepted send, while its previous such transaction is running share the next one
 * (one statement reads and locks all their messages; one writes all their attempts). Each run still
 * gets its own answer, decided as if alone; a batch that fails is run again one send at a time.
 * A crash between 1 and 3 leaves the attempt `sending`: in doubt, the provider may have the message.
 * The retry never resends blindly: it waits (deferred, up to DELIVERY_IN_DOUBT_GRACE_MS from the
 * attempt's start) for the provider's receipt, which status.apply matches by the provider id or by
 * our message id (WhatsApp biz_opaque_callback_data, Twilio's StatusCallback ?messageId=) and which
 * moves the message to sent: the job then finds it sent and stops. A receipt naming our id that is
 * stored but not yet applied (a backlog on the status queue) settles the send the same way. A call that timed out is in doubt
 * the same way. With no receipt by then, it sends again: safe on LINE (X-Line-Retry-Key is our id);
 * on channels that neither echo our id in a receipt nor dedupe on it (Telegram, WeChat, email,
 * webchat, api) a provider that took the message without a word may get it twice.
 * A coalesced job (several messages committed together, COALESCED_JOBS) runs each member as this
 * send, with the member's own outbox row id as its job id; a member that must wait or be retried
 * goes on as its own job under that id (send-batch.ts), which is what a rerun of the batch (a crash,
 * a failed add) finds: the members already done are skipped by their claims.
 * Fallback (fallback.service.ts): an identity that cannot take the message at send time, or a
 * permanent failure, moves the message to the next identity of its route instead of failing it; a
 * hop accepted by its provider starts its delivery deadline in the same transaction.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { type Channel, DomainError, isUuid, routeAhead, startsDeadline } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import type { ChannelConfigs, OutboundMessage, SendOutcome } from '#channels';
import { type JobContext, JobDeferred, type JobPayloads, JobRetryable, type SendMember } from '#queue';
import { OutboundGuard } from '#net';
import { EventWriter } from '../events/event-writer.js';
import type { InboxCredentials } from '../inboxes/inboxes.service.js';
import { type AdapterLookup, CHANNEL_ADAPTERS } from './channel-adapters.js';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { FallbackService } from './fallback.service.js';
import { type OutcomePlan, planOutcome } from './delivery-rules.js';
import { OutboundMessagesRepository } from './outbound-messages.repository.js';
import { isPermanentError, type RunEnd, runBatch, SendFollowUps } from './send-batch.js';
import { type Claim, SendClaims } from './send-claims.js';
import { SendOrder } from './send-order.js';
import { SentSettler } from './sent-settler.js';
import { RedisTokenCache } from './token-cache.js';

const DONE: RunEnd = { kind: 'done' };

@Injectable()
export class DeliveryService {
  constructor(
    private readonly db: TenantDb,
    private readonly messages: OutboundMessagesRepository,
    private readonly attempts: DeliveryAttemptsRepository,
    private readonly tokens: RedisTokenCache,
    private readonly order: SendOrder,
    private readonly fallback: FallbackService,
    @Inject(CHANNEL_ADAPTERS) private readonly adapters: AdapterLookup,
    @Inject(CONFIG) private readonly config: FerryConfig,
    private readonly events: EventWriter,
    private readonly guard: OutboundGuard,
    private readonly sent: SentSettler,
    private readonly followUps: SendFollowUps,
    private readonly claims: SendClaims,
  ) {}

  /**
   * Runs one try of a `message.send` job: one message (send), or each member of a coalesced job,
   * concurrently (runBatch). A member that fails for good fails alone; the batch throws only when a
   * member that must go on alone could not be queued, and is then run again.
   */
  async deliver(payload: JobPayloads['message.send'], job: JobContext): Promise<void> {
    if (!payload.members) return this.send(payload.workspaceId, payload.messageId, job);
    const { workspaceId } = payload;
    if (!isUuid(workspaceId)) throw DomainError.invalid('delivery.invalid_job', 'message.send needs a workspaceId');
    const context = (member: SendMember): JobContext => ({ jobId: member.jobId, attempt: job.attempt, maxAttempts: job.maxAttempts });
    const run = (member: SendMember, claim: Promise<Claim>): Promise<RunEnd> => claim.then((c) => this.proceed(workspaceId, member.messageId, c, context(member)));
    await runBatch(payload.members, job, {
      startAll: (all) => this.claims.claimAll(workspaceId, all.map((member) => ({ messageId: member.messageId, job: context(member) }))).map((claim, i) => run(all[i]!, claim)),
      again: (member) => run(member, this.claims.claim(workspaceId, { messageId: member.messageId, job: context(member) })),
      later: (followUp) => this.followUps.add(workspaceId, followUp),
    });
  }

  /**
   * Runs one try of `message.send`. Returns when the message needs nothing more; throws JobDeferred
   * to be run again later without spending a try, JobRetryable after a transient provider failure.
   */
  async send(workspaceId: string, messageId: string, job: JobContext): Promise<void> {
    if (!isUuid(workspaceId) || !isUuid(messageId)) throw DomainError.invalid('delivery.invalid_job', 'message.send needs a workspaceId and a messageId');
    for (let pass = 0; ; pass++) {
      const end = await this.proceed(workspaceId, messageId, await this.claims.claim(workspaceId, { messageId, job }), job);
      if (end.kind === 'done') return;
      // The message it waits for left since the claim saw it queued: one more claim instead of the wait.
      const waiting = end.blockerId ? await this.order.waitFor(workspaceId, end.blockerId, job.jobId) : true;
      if (waiting || pass > 0) throw new JobDeferred(end.delayMs, end.reason);
    }
  }

  /** What a claimed run does: wait, or send and settle (throwing JobRetryable for a retry), or nothing. */
  private async proceed(workspaceId: string, messageId: string, claim: Claim, job: JobContext): Promise<RunEnd> {
    if (claim.kind === 'wait') return claim;
    if (claim.kind === 'send') {
      const started = performance.now();
      const outcome = await this.call(claim.inbox, claim.request);
      const latencyMs = Math.round(performance.now() - started);
      const settled = await this.settle(workspaceId, claim, outcome, latencyMs, job);
      if (settled.retry) throw new JobRetryable(settled.retry.reason, settled.retry.retryAfterMs);
      // Sent with no later message of its conversation queued: nobody can be waiting for it (one that
      // is written and claimed in the instant before this commit waits ORDER_WAIT_MS at most).
      if (!settled.laterQueued) return DONE;
    }
    // It left the queue (or was never in it): the messages written after it may go.
    await this.order.release(workspaceId, messageId);
    return DONE;
  }

  /** The provider call. An adapter that throws is a transient failure, in doubt (it may have sent). */
  private async call(inbox: InboxCredentials, request: OutboundMessage): Promise<SendOutcome> {
    try {
      return await this.sendVia(inbox.channel, inbox.config, request);
    } catch (error) {
      const permanent = isPermanentError(error);
      const code = error instanceof DomainError ? error.code : 'adapter.error';
      return { ok: false, permanent, code, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  private sendVia<C extends Channel>(channel: C, config: ChannelConfigs[C], request: OutboundMessage): Promise<SendOutcome> {
    return this.adapters(channel).send(request, config, { tokens: this.tokens, timeoutMs: this.config.delivery.timeoutMs, now: () => new Date(), guard: this.guard });
  }

  private async settle(
    workspaceId: string,
    claim: Extract<Claim, { kind: 'send' }>,
    outcome: SendOutcome,
    latencyMs: number,
    job: JobContext,
  ): Promise<{ retry: OutcomePlan['retry']; laterQueued: boolean }> {
    // The common case, settled with the other sends finishing now (SentSettler): accepted, still
    // queued on this hop, no deadline to start.
    if (outcome.ok && !startsDeadline(claim.inbox.channel, routeAhead(claim.identityId, claim.fallback))) {
      const sent = await this.sent.settle(workspaceId, {
        messageId: claim.request.messageId,
        attemptId: claim.attemptId,
        identityId: claim.identityId,
        externalId: outcome.providerMessageId,
        providerRequestId: outcome.providerRequestId ?? null,
        responseCode: outcome.responseCode ?? null,
        latencyMs,
        email: claim.request.email ? { messageId: outcome.providerMessageId, subject: claim.request.email.subject } : undefined,
      });
      if (sent) return { retry: null, laterQueued: sent.laterQueued };
    }
    const plan = await this.db.run(workspaceId, (tx) => this.settleInFull(tx, claim, outcome, latencyMs, job));
    return { retry: plan.retry, laterQueued: true };
  }

  /** Any answer, in any state the message may have reached meanwhile. */
  private async settleInFull(
    tx: TenantTx,
    claim: Extract<Claim, { kind: 'send' }>,
    outcome: SendOutcome,
    latencyMs: number,
    job: JobContext,
  ): Promise<OutcomePlan> {
    const message = await this.messages.lockForSend(tx, claim.request.messageId);
    // Gone (its conversation deleted): the attempt went with it.
    const plan = planOutcome(outcome, message?.status ?? 'failed', job.attempt >= job.maxAttempts);
    if (!message) return { ...plan, retry: null };
    if (message.identityId !== claim.identityId) {
      // A late receipt of an earlier hop delivered the message while this hop was with its provider:
      // the answer is this attempt's alone (see receiptEffect in #domain).
      await this.attempts.finish(tx, claim.attemptId, { ...plan.attempt, status: outcome.ok ? 'sent' : 'failed', latencyMs });
      return { ...plan, message: null, retry: null };
    }
    await this.attempts.finish(tx, claim.attemptId, { ...plan.attempt, latencyMs });
    if (plan.message?.kind === 'sent') {
      const email = claim.request.email ? { messageId: plan.message.externalId, subject: claim.request.email.subject } : undefined;
      await this.messages.markSent(tx, message.id, plan.message.externalId, plan.message.advance, email);
      await this.fallback.startDeadline(tx, message, claim.attemptId, claim.inbox.channel);
    } else if (plan.message?.kind === 'failed') {
      const failure = { code: plan.message.errorCode, reason: plan.message.errorReason };
      await this.fallback.leave(tx, message, claim.attemptId, 'provider_failed', failure);
    }
    if (plan.message) await this.events.message(tx, 'message.updated', message.id);
    return plan;
  }
}
