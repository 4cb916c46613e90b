/*
 * Delivery of one outbound message (the `message.send` job), safe against a crash at any moment:
 * 1. claim, in one transaction with the message row locked: skip unless it is queued; wait while an
 *    earlier message of its conversation is queued; take a rate-limit slot of its inbox; record the
 *    attempt as `sending` and commit, BEFORE the provider is called;
 * 2. call the provider, outside any transaction;
 * 3. record the answer in one transaction: the attempt, and the message sent (with the provider's
 *    id) or failed (with the provider's code and reason), or left queued for a retry.
 * Steps 1 and 3 are group commits (GroupCommit, SentSettler): the runs of one workspace that claim,
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
import { type Channel, DomainError, isUuid, routeAhead, startsDeadline, uuidv7 } from '#domain';
import { GroupCommit, TenantDb, type TenantTx } from '#database';
import type { ChannelConfigs, OutboundMessage, SendOutcome } from '#channels';
import { type JobContext, JobDeferred, type JobPayloads, JobRetryable, type SendMember } from '#queue';
import { OutboundGuard } from '#net';
import { EventWriter } from '../events/event-writer.js';
import { type InboxCredentials, InboxesService } from '../inboxes/inboxes.service.js';
import { type AdapterLookup, CHANNEL_ADAPTERS } from './channel-adapters.js';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { FallbackService, type IdentityWindow } from './fallback.service.js';
import { nextStep, type OutcomePlan, planOutcome } from './delivery-rules.js';
import { type ClaimRow, OutboundMessagesRepository } from './outbound-messages.repository.js';
import { emailThreading, outboundRequest } from './outbound-request.js';
import { isPermanentError, type RunEnd, runBatch, SendFollowUps } from './send-batch.js';
import { SendOrder } from './send-order.js';
import { pairIntervalOf, SendRateLimiter, sendRateOf } from './send-rate-limiter.js';
import { SentSettler } from './sent-settler.js';
import { RedisTokenCache } from './token-cache.js';

/** A LINE reply token this close to its expiry is left alone: the push is as good and cannot miss. */
const REPLY_TOKEN_MARGIN_MS = 5000;

/** The most sends one claim transaction takes. */
const MAX_CLAIMS = 64;

/** A run that finds a try opened by another run of the same send (taken over while it ran) comes back after this. */
const OPEN_ELSEWHERE_WAIT_MS = 1000;

const DONE: RunEnd = { kind: 'done' };

/** A send decided to go, before its rate-limit slot and its attempt. */
interface Ready {
  kind: 'ready';
  message: ClaimRow;
  inbox: InboxCredentials;
  identity: IdentityWindow & { externalId: string };
  unconfirmedAttemptId: string | null;
  attemptId: string;
}

type Claim =
  | { kind: 'done' }
  | { kind: 'wait'; delayMs: number; reason: string; blockerId?: string }
  | { kind: 'send'; attemptId: string; identityId: string; fallback: string[]; inbox: InboxCredentials; request: OutboundMessage };

@Injectable()
export class DeliveryService {
  private readonly claims = new GroupCommit<string, { messageId: string; job: JobContext }, Claim>((workspaceId, items) =>
    this.db.run(workspaceId, (tx) => this.claimMany(tx, items)),
    MAX_CLAIMS,
    false,
  );

  constructor(
    private readonly db: TenantDb,
    private readonly inboxes: InboxesService,
    private readonly messages: OutboundMessagesRepository,
    private readonly attempts: DeliveryAttemptsRepository,
    private readonly limiter: SendRateLimiter,
    private readonly tokens: RedisTokenCache,
    private readonly order: SendOrder,
    private readonly fallback: FallbackService,
    @Inject(CHANNEL_ADAPTERS) private readonly adapters: AdapterLookup,
    @Inject(CONFIG) private readonly config: FerryConfig,
    private readonly events: EventWriter,
    private readonly guard: OutboundGuard,
    private readonly sent: SentSettler,
    private readonly followUps: SendFollowUps,
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
      startAll: (all) => this.claims.submitMany(workspaceId, all.map((member) => ({ messageId: member.messageId, job: context(member) }))).map((claim, i) => run(all[i]!, claim)),
      again: (member) => run(member, this.claims.submit(workspaceId, { messageId: member.messageId, job: context(member) })),
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
      const end = await this.proceed(workspaceId, messageId, await this.claims.submit(workspaceId, { messageId, job }), job);
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

  /**
   * The claims of a workspace's sends that start together, in one transaction (GroupCommit): their
   * messages locked and read in one statement, each decided as claim() always did, the rate-limit
   * slots taken at once, the attempts of those that go written in one statement.
   */
  private async claimMany(tx: TenantTx, items: Array<{ messageId: string; job: JobContext }>): Promise<Claim[]> {
    const rows = await this.messages.claimForSendMany(tx, [...new Set(items.map((item) => item.messageId))]);
    const seen = new Set<string>();
    const decided: Array<Claim | Ready> = [];
    for (const { messageId } of items) {
      // Two runs of one message in one batch: the second comes back once the first is done.
      if (seen.has(messageId)) {
        decided.push({ kind: 'wait', delayMs: OPEN_ELSEWHERE_WAIT_MS, reason: 'another run of this send is claiming it' });
        continue;
      }
      seen.add(messageId);
      decided.push(await this.decide(tx, rows.get(messageId) ?? null, messageId));
    }
    const slotted = await this.takeSlots(decided, items);
    const ready = slotted.filter((step): step is Ready => step.kind === 'ready');
    for (const step of ready) {
      if (step.unconfirmedAttemptId) {
        await this.attempts.markUnconfirmed(tx, step.unconfirmedAttemptId, 'No answer recorded and no receipt within the grace period; sent again');
      }
    }
    const opened = await this.attempts.insertSendingManyIfNoneOpen(
      tx,
      ready.map(({ attemptId, message, identity, inbox }) => ({ id: attemptId, messageId: message.id, identityId: identity.id, inboxId: inbox.id, channel: inbox.channel })),
    );
    const claims: Claim[] = [];
    for (const step of slotted) {
      if (step.kind !== 'ready') claims.push(step);
      else if (!opened.has(step.attemptId)) claims.push({ kind: 'wait', delayMs: OPEN_ELSEWHERE_WAIT_MS, reason: 'another run of this send has a try open' });
      else claims.push(await this.toSend(tx, step));
    }
    return claims;
  }

  /** What one message's run does, from its row: done, wait, or go (once it has its rate-limit slot). */
  private async decide(tx: TenantTx, message: ClaimRow | null, messageId: string): Promise<Claim | Ready> {
    const sendable = message?.direction === 'out' && message.status === 'queued';
    const openAttempt = sendable ? message.openAttempt : null;
    // A try in doubt whose receipt already arrived (its status.apply job still waits in the queue's
    // backlog) did reach the provider: it is sent, and never sent again however long the backlog.
    const receipted = openAttempt && message ? await this.messages.pendingReceipt(tx, messageId, message.inboxId) : null;
    if (message && receipted) {
      await this.messages.markSent(tx, message.id, receipted, true);
      await this.attempts.settleOpen(tx, message.id, 'sent', receipted);
      if (openAttempt && message.channel) await this.fallback.startDeadline(tx, message, openAttempt.id, message.channel);
      await this.events.message(tx, 'message.updated', message.id);
      return { kind: 'done' };
    }
    const step = nextStep({
      message,
      earlierQueuedId: sendable ? message.earlierQueuedId : null,
      openAttempt,
      inDoubtGraceMs: this.config.delivery.inDoubtGraceMs,
    });
    if (step.kind === 'skip' || !message) {
      // A try left open by a crash, then settled by the provider's receipt: the ledger says so.
      if (message?.direction === 'out' && message.status !== 'queued') {
        await this.attempts.settleOpen(tx, message.id, message.status === 'failed' ? 'failed' : 'sent');
      }
      return { kind: 'done' };
    }
    if (step.kind === 'wait') return step;
    const target = this.target(message);
    const unreachable = 'failure' in target ? target.failure : await this.fallback.unreachableNow(tx, message, target.identity);
    if ('failure' in target || unreachable) {
      await this.fallback.leave(tx, message, null, 'unreachable', unreachable ?? { code: 'delivery.no_identity', reason: 'No identity to send to' });
      await this.events.message(tx, 'message.updated', message.id);
      return { kind: 'done' };
    }
    return { kind: 'ready', message, ...target, unconfirmedAttemptId: step.unconfirmedAttemptId, attemptId: uuidv7() };
  }

  /** Each ready send's inbox rate-limit slot (and WhatsApp's pair slot), or how long it waits for them: one round trip for all. */
  private async takeSlots(decided: Array<Claim | Ready>, items: Array<{ job: JobContext }>): Promise<Array<Claim | Ready>> {
    const ready = decided.flatMap((step, i) => (step.kind === 'ready' ? [{ step, holder: items[i]!.job.jobId }] : []));
    const slots = await this.limiter.acquireSends(
      ready.map(({ step: { inbox, identity }, holder }) => {
        const pairMs = pairIntervalOf(inbox.channel, this.config.delivery.whatsappPairIntervalMs);
        return { inboxId: inbox.id, ratePerSecond: sendRateOf(inbox.channel, inbox.config), pair: pairMs > 0 ? { to: identity.externalId, intervalMs: pairMs } : null, holder };
      }),
    );
    const waits = new Map(ready.map(({ step }, i) => [step, slots[i]!]));
    return decided.map((step) => {
      const slot = step.kind === 'ready' ? waits.get(step) : undefined;
      if (step.kind !== 'ready' || !slot || slot.wait <= 0) return step;
      const reason = slot.limit === 'pair' ? `pair rate of inbox ${step.inbox.id} to one user` : `rate limit of inbox ${step.inbox.id}`;
      return { kind: 'wait', delayMs: slot.wait, reason };
    });
  }

  /** The request of a send whose attempt is written. */
  private async toSend(tx: TenantTx, ready: Ready): Promise<Claim> {
    const { message, inbox, identity, attemptId } = ready;
    const request = outboundRequest({
      message,
      to: identity.externalId,
      channel: inbox.channel,
      inboxId: inbox.id,
      publicUrl: this.config.http.publicUrl,
      replyToken: inbox.channel === 'line' ? await this.messages.takeReplyToken(tx, identity.id, REPLY_TOKEN_MARGIN_MS) : null,
      email: inbox.channel === 'email' ? emailThreading(await this.messages.emailThread(tx, message.conversationId, message.id), inbox.name) : undefined,
    });
    return { kind: 'send', attemptId, identityId: identity.id, fallback: message.fallback, inbox, request };
  }

  /** The inbox (decrypted) and identity the message leaves by, or why it cannot leave at all. */
  private target(
    message: ClaimRow,
  ): { inbox: InboxCredentials; identity: IdentityWindow & { externalId: string } } | { failure: { code: string; reason: string } } {
    const { identity } = message;
    if (!message.inboxId || !message.identityId || !identity) {
      return { failure: { code: 'delivery.no_identity', reason: 'The contact identity this message was addressed to no longer exists' } };
    }
    if (!message.inbox) return { failure: { code: 'delivery.inbox_deleted', reason: 'The inbox this message was to leave by was deleted' } };
    return { inbox: this.inboxes.credentialsOf(message.inbox), identity };
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
