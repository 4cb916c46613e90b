import { Injectable } from '@nestjs/common';
import { DomainError, hasSendQuota, uuidv7 } from '#domain';
import { GroupCommit, TenantDb, type TenantTx } from '#database';
import { Outbox } from '#queue';
import { FallbackRepository } from '../delivery/fallback.repository.js';
import { EventWriter } from '../events/event-writer.js';
import { type IdentityFactsRow, ReachabilityRepository } from '../reachability/reachability.repository.js';
import { ReachabilityService } from '../reachability/reachability.service.js';
import { chooseIdentity, policyFallback } from './identity-choice.js';
import { type MessageRow, MessagesRepository, type NewReply } from './messages.repository.js';
import { assertOutgoingMessage, type OutgoingMessage } from './outgoing-message.js';

/** An agent's plain text reply as posted (no template): the kind of post a busy inbox makes most. */
export interface ReplyRequest {
  conversationId: string;
  senderMemberId: string | null;
  input: OutgoingMessage;
}

/**
 * - written: committed, queued, its send job published after commit;
 * - refused: nothing written for it, with the error the caller answers (the others went on);
 * - alone: its route has an identity with a send quota (WeChat): it must lock that identity and count
 *   the quota under the lock, which this batch does not do, so the caller posts it on its own.
 */
export type ReplyOutcome = { kind: 'written'; message: MessageRow } | { kind: 'refused'; error: DomainError } | { kind: 'alone' };

/** The most replies one transaction writes. */
const MAX_REPLIES = 64;

/**
 * Plain replies of one workspace posted while its previous batch is being written share the next
 * transaction (GroupCommit; a lone reply is written at once): one statement reads every
 * conversation's identities and their reachability, each reply is decided exactly as
 * MessagesService.post decides it alone, and one statement writes all that pass with their send
 * jobs. A reply that is refused (no such conversation, bad field, no reachable identity) fails alone.
 * A batch that fails in the database is written again one reply at a time (GroupCommit).
 */
@Injectable()
export class ReplyBatchService {
  private readonly batches = new GroupCommit<string, ReplyRequest, ReplyOutcome>(
    (workspaceId, requests) => this.db.run(workspaceId, (tx) => this.writeAll(tx, requests)),
    MAX_REPLIES,
    false,
  );

  constructor(
    private readonly db: TenantDb,
    private readonly facts: ReachabilityRepository,
    private readonly reachability: ReachabilityService,
    private readonly policy: FallbackRepository,
    private readonly messages: MessagesRepository,
    private readonly outbox: Outbox,
    private readonly events: EventWriter,
  ) {}

  submit(workspaceId: string, request: ReplyRequest): Promise<ReplyOutcome> {
    return this.batches.submit(workspaceId, request);
  }

  private async writeAll(tx: TenantTx, requests: ReplyRequest[]): Promise<ReplyOutcome[]> {
    const facts = await this.facts.conversationFactsMany(tx, [...new Set(requests.map((request) => request.conversationId))]);
    let policy: Promise<string[]> | undefined;
    const policyChannels = (): Promise<string[]> => (policy ??= this.policy.fallbackChannels(tx));
    const outcomes: Array<ReplyOutcome | NewReply> = [];
    for (const request of requests) {
      try {
        outcomes.push(await this.decide(tx, request, facts.get(request.conversationId)?.identities ?? null, policyChannels));
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        outcomes.push({ kind: 'refused', error });
      }
    }
    const replies = outcomes.filter((outcome): outcome is NewReply => !('kind' in outcome));
    if (replies.length === 0) return outcomes as ReplyOutcome[];
    const staged = replies.map((message) => ({ message, job: this.outbox.prepare('message.send', { workspaceId: tx.workspaceId, messageId: message.id }) }));
    const { messages, eventSubscribed } = await this.messages.insertRepliesWithJobs(tx, staged);
    for (const { job } of staged) this.outbox.publishAfterCommit(tx, job);
    await this.events.messagesWritten(tx, 'message.created', messages, eventSubscribed);
    const written = new Map(messages.map((message) => [message.id, message]));
    return outcomes.map((outcome) => ('kind' in outcome ? outcome : { kind: 'written', message: written.get(outcome.id)! }));
  }

  /** The reply to write, as MessagesService.post decides it; throws its refusal. */
  private async decide(
    tx: TenantTx,
    { conversationId, senderMemberId, input }: ReplyRequest,
    identities: IdentityFactsRow[] | null,
    policyChannels: () => Promise<string[]>,
  ): Promise<NewReply | ReplyOutcome> {
    if (!identities) throw DomainError.notFound('conversation');
    assertOutgoingMessage(input);
    const chosen = chooseIdentity(identities, input.via?.identityId, input.fallback ?? []);
    const fallback =
      input.fallback || identities.length < 2 ? chosen.fallback : policyFallback(identities, chosen.identity.id, await policyChannels());
    const route = [chosen.identity.id, ...fallback];
    if (identities.some((identity) => route.includes(identity.id) && hasSendQuota(identity.channel))) return { kind: 'alone' };
    await this.reachability.assertSendableFrom(tx, { identityId: chosen.identity.id, inboxId: chosen.identity.inboxId, fallback, kind: 'free_form' }, identities);
    return {
      id: uuidv7(),
      conversationId,
      body: input.body ?? '',
      identityId: chosen.identity.id,
      inboxId: chosen.identity.inboxId,
      senderMemberId,
      fallback,
    };
  }
}
