import { Inject, Injectable } from '@nestjs/common';
import {
  assessReachability,
  type Channel,
  canSendNow,
  DomainError,
  hasSendQuota,
  isUuid,
  type MessageKind,
  type Reachability,
  reachabilityRefusal,
} from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { chooseIdentity } from '../messages/identity-choice.js';
import { CLOCK, type Clock } from './clock.js';
import { type IdentityFactsRow, ReachabilityRepository } from './reachability.repository.js';

/** One identity of a contact, and what can be sent to it now. */
export interface IdentityReachability extends Reachability {
  identityId: string;
  channel: Channel;
  inboxId: string;
  externalId: string;
  lastInboundAt: Date | null;
}

export interface ContactReachability {
  /** The identity the customer last wrote on (else the newest); null when the contact has none. */
  defaultIdentityId: string | null;
  identities: IdentityReachability[];
}

/**
 * The route of one outbound message: the identity it is addressed to, then its fallbacks in order.
 * `kind` is the message's kind on the first identity's inbox; on another inbox a template travels as
 * its rendered text, so it is judged (and must be sent by the worker's hop) as a free-form message.
 */
export interface SendRoute {
  identityId: string;
  inboxId: string;
  fallback: readonly string[];
  kind: MessageKind;
}

/**
 * Reachability of a contact's identities, from the pure rules in #domain and the facts in the database.
 *
 * The send contract (MessagesService.post, then the worker): a send is accepted when its first
 * identity can take it now, or when one of its `fallback` identities can. The message is stored on
 * its first identity with `fallback` kept as given; the worker, finding the first identity
 * unreachable (or failing on it), hops to the next fallback identity that `firstReachable` names.
 */
@Injectable()
export class ReachabilityService {
  constructor(
    private readonly db: TenantDb,
    private readonly contacts: ContactsRepository,
    private readonly repository: ReachabilityRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** GET /v1/contacts/{id}/reachability. */
  async forContact(workspaceId: string, contactId: string): Promise<ContactReachability> {
    return this.db.run(workspaceId, async (tx) => {
      const contact = isUuid(contactId) ? await this.contacts.findById(tx, contactId) : null;
      if (!contact) throw DomainError.notFound('contact');
      const rows = await this.repository.factsOfContact(tx, contactId);
      const now = this.clock();
      return {
        defaultIdentityId: rows.length > 0 ? chooseIdentity(rows).identity.id : null,
        identities: rows.map((row) => view(row, now)),
      };
    });
  }

  /**
   * Each of these identities (of the workspace, inbox not deleted) as of now, in the order given;
   * `excludeMessageId` (a queued message about to leave) is not counted in the quotas.
   */
  async identities(tx: TenantTx, identityIds: readonly string[], excludeMessageId: string | null = null): Promise<IdentityReachability[]> {
    const rows = await this.repository.factsOfIdentities(tx, [...identityIds], excludeMessageId);
    const now = this.clock();
    const byId = new Map(rows.map((row) => [row.id, view(row, now)]));
    return identityIds.flatMap((id) => byId.get(id) ?? []);
  }

  /** The first identity of the route that can take the message now, or null. */
  async firstReachable(tx: TenantTx, route: SendRoute): Promise<IdentityReachability | null> {
    const candidates = await this.identities(tx, [route.identityId, ...route.fallback]);
    return candidates.find((candidate) => canSendNow(candidate, kindOn(route, candidate.inboxId)).ok) ?? null;
  }

  /**
   * The worker's next hop: the first of `candidates` (in order) that can take a free-form message now
   * (a template travels as its rendered text on another inbox), not counting `messageId` itself. The
   * candidates are locked first, like a send at the API, so a hop cannot overrun a quota either.
   */
  async nextHop(tx: TenantTx, candidates: readonly string[], messageId: string): Promise<IdentityReachability | null> {
    if (candidates.length === 0) return null;
    await this.repository.lockIdentities(tx, [...candidates]);
    const reachable = await this.identities(tx, candidates, messageId);
    return reachable.find((candidate) => canSendNow(candidate, 'free_form').ok) ?? null;
  }

  /**
   * Refuses (422, before anything is written) a send that no identity of its route can take now,
   * with the first identity's reason. Sends to an identity with a quota are serialised (its row is
   * locked until the caller's transaction ends), so concurrent sends cannot overrun the quota.
   */
  async assertSendable(tx: TenantTx, route: SendRoute, channels: ReadonlyMap<string, Channel>): Promise<void> {
    const ids = [route.identityId, ...route.fallback];
    const quotaIds = ids.filter((id) => {
      const channel = channels.get(id);
      return channel !== undefined && hasSendQuota(channel);
    });
    if (quotaIds.length > 0) await this.repository.lockIdentities(tx, quotaIds);
    judge(route, await this.identities(tx, ids));
  }

  /**
   * assertSendable with facts the caller already read (conversationFacts): no further statement unless an
   * identity of the route has a quota, which takes the lock and reads its facts again under it.
   */
  async assertSendableFrom(tx: TenantTx, route: SendRoute, facts: readonly IdentityFactsRow[]): Promise<void> {
    const channels = new Map(facts.map((row) => [row.id, row.channel]));
    const quota = [route.identityId, ...route.fallback].some((id) => {
      const channel = channels.get(id);
      return channel !== undefined && hasSendQuota(channel);
    });
    if (quota) {
      return this.assertSendable(tx, route, channels);
    }
    const now = this.clock();
    const byId = new Map(facts.map((row) => [row.id, row]));
    judge(route, [route.identityId, ...route.fallback].flatMap((id) => {
      const row = byId.get(id);
      return row ? [view(row, now)] : [];
    }));
  }
}

/** Passes when an identity of the route (`candidates`: its identities as of now, in route order) can take the message now. */
function judge(route: SendRoute, candidates: readonly IdentityReachability[]): void {
  if (candidates.some((candidate) => canSendNow(candidate, kindOn(route, candidate.inboxId)).ok)) return;
  const first = candidates.find((candidate) => candidate.identityId === route.identityId);
  if (!first) throw new DomainError('reachability.no_identity', 'unprocessable', 'The identity this message is addressed to is gone');
  const verdict = canSendNow(first, route.kind);
  throw reachabilityRefusal(first.channel, first, verdict.ok ? 'reachability.window_closed' : verdict.reason);
}

function kindOn(route: SendRoute, inboxId: string): MessageKind {
  return route.kind === 'template' && inboxId === route.inboxId ? 'template' : 'free_form';
}

function view(row: IdentityFactsRow, now: Date): IdentityReachability {
  return {
    identityId: row.id,
    channel: row.channel,
    inboxId: row.inboxId,
    externalId: row.externalId,
    lastInboundAt: row.lastInboundAt,
    ...assessReachability(row, now),
  };
}
