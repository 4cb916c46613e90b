import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { GroupCommit, TenantDb, type TenantTx } from '#database';
import type { OutboundMessage } from '#channels';
import type { JobContext } from '#queue';
import { EventWriter } from '../events/event-writer.js';
import { type InboxCredentials, InboxesService } from '../inboxes/inboxes.service.js';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { FallbackService, type IdentityWindow } from './fallback.service.js';
import { nextStep } from './delivery-rules.js';
import { type ClaimRow, OutboundMessagesRepository } from './outbound-messages.repository.js';
import { emailThreading, outboundRequest } from './outbound-request.js';
import { pairIntervalOf, SendRateLimiter, sendRateOf } from './send-rate-limiter.js';

/** A LINE reply token this close to its expiry is left alone: the push is as good and cannot miss. */
const REPLY_TOKEN_MARGIN_MS = 5000;

/** The most sends one claim transaction takes. */
const MAX_CLAIMS = 64;

/** A run that finds a try opened by another run of the same send (taken over while it ran) comes back after this. */
const OPEN_ELSEWHERE_WAIT_MS = 1000;

/** A send decided to go, before its rate-limit slot and its attempt. */
interface Ready {
  kind: 'ready';
  message: ClaimRow;
  inbox: InboxCredentials;
  identity: IdentityWindow & { externalId: string };
  unconfirmedAttemptId: string | null;
  attemptId: string;
}

export type Claim =
  | { kind: 'done' }
  | { kind: 'wait'; delayMs: number; reason: string; blockerId?: string }
  | { kind: 'send'; attemptId: string; identityId: string; fallback: string[]; inbox: InboxCredentials; request: OutboundMessage };

/** One run of a send asking to go: its message, and the job it runs in (the rate-limit slot is held in its id). */
interface ClaimItem {
  messageId: string;
  job: JobContext;
}

/**
 * Step 1 of a send (delivery.service.ts): the claim. The runs of one workspace's sends that start
 * while its previous claim transaction is running share the next one (GroupCommit): their messages
 * locked and read in one statement, each decided alone (done, wait, or go), the rate-limit slots of
 * those that go taken in one round trip, and their attempts written `sending` in one statement,
 * committed BEFORE the provider is called.
 */
@Injectable()
export class SendClaims {
  private readonly batches = new GroupCommit<string, ClaimItem, Claim>((workspaceId, items) =>
    this.db.run(workspaceId, (tx) => this.claimAllIn(tx, items)),
    MAX_CLAIMS,
    false,
  );

  constructor(
    private readonly db: TenantDb,
    private readonly inboxes: InboxesService,
    private readonly messages: OutboundMessagesRepository,
    private readonly attempts: DeliveryAttemptsRepository,
    private readonly limiter: SendRateLimiter,
    private readonly fallback: FallbackService,
    private readonly events: EventWriter,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  claim(workspaceId: string, item: ClaimItem): Promise<Claim> {
    return this.batches.submit(workspaceId, item);
  }

  /** Claims of one run's several sends (a coalesced job's members), in the same transaction. */
  claimAll(workspaceId: string, items: ClaimItem[]): Array<Promise<Claim>> {
    return this.batches.submitMany(workspaceId, items);
  }

  /**
   * The claims of a workspace's sends that start together, in one transaction (GroupCommit): their
   * messages locked and read in one statement, each decided as claim() always did, the rate-limit
   * slots taken at once, the attempts of those that go written in one statement.
   */
  private async claimAllIn(tx: TenantTx, items: ClaimItem[]): Promise<Claim[]> {
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
}
