import { Injectable } from '@nestjs/common';
import { CHANNELS, type Channel, hasSendQuota } from '#domain';
import type { TenantTx } from '#database';

/** One identity with what the reachability rules read. */
export interface IdentityFactsRow {
  id: string;
  contactId: string;
  inboxId: string;
  channel: Channel;
  externalId: string;
  lastInboundAt: Date | null;
  replyTokenExpiresAt: Date | null;
  unsubscribedAt: Date | null;
  createdAt: Date;
  /** Outbound messages on it since the customer last wrote, failed ones excluded (counted only where a quota applies). */
  sentSinceInbound: number;
}

const QUOTA_CHANNELS: string[] = CHANNELS.filter((channel) => hasSendQuota(channel));

// Only identities whose inbox still exists: the ones a message can leave on.
// $2 and $4 are read through sub-selects: a plan that saw their values would be made again for every call.
const SELECT_FACTS = `
  SELECT ci.id, ci.contact_id AS "contactId", ci.inbox_id AS "inboxId", ci.channel, ci.external_id AS "externalId",
         ci.last_inbound_at AS "lastInboundAt", ci.reply_token_expires_at AS "replyTokenExpiresAt",
         ci.unsubscribed_at AS "unsubscribedAt", ci.created_at AS "createdAt",
         CASE WHEN ci.channel = ANY((SELECT $2::text[])::text[]) AND ci.last_inbound_at IS NOT NULL THEN (
           SELECT count(*) FROM messages m
           WHERE m.workspace_id = ci.workspace_id AND m.identity_id = ci.id AND m.direction = 'out'
             AND m.status <> 'failed' AND m.created_at > ci.last_inbound_at AND m.id IS DISTINCT FROM (SELECT $4::uuid)
         ) ELSE 0 END AS "sentSinceInbound"
  FROM contact_identities ci
  JOIN inboxes i ON i.workspace_id = ci.workspace_id AND i.id = ci.inbox_id AND i.deleted_at IS NULL
  WHERE ci.workspace_id = $1`;

/** Queries for reachability: identities with their window facts, and the lock that serialises quota sends. */
@Injectable()
export class ReachabilityRepository {
  async factsOfContact(tx: TenantTx, contactId: string): Promise<IdentityFactsRow[]> {
    return tx.manager.query(`${SELECT_FACTS} AND ci.contact_id = $3 ORDER BY ci.created_at, ci.id`, [tx.workspaceId, QUOTA_CHANNELS, contactId, null]);
  }

  /**
   * The conversation's contact and that contact's identities with their facts, in one statement; null
   * when there is no such conversation (or its contact was deleted). The facts are read unlocked.
   */
  async conversationFacts(tx: TenantTx, conversationId: string): Promise<{ contactId: string; identities: IdentityFactsRow[] } | null> {
    return (await this.conversationFactsMany(tx, [conversationId])).get(conversationId) ?? null;
  }

  /** conversationFacts of several conversations in one statement, by conversation id (absent: no such conversation). */
  async conversationFactsMany(tx: TenantTx, conversationIds: string[]): Promise<Map<string, { contactId: string; identities: IdentityFactsRow[] }>> {
    const rows: Array<IdentityFactsRow & { conversationId: string; conversationContactId: string }> = await tx.manager.query(
      `SELECT c.id AS "conversationId", c.contact_id AS "conversationContactId", f.*
       FROM conversations c
       JOIN contacts ct ON ct.workspace_id = c.workspace_id AND ct.id = c.contact_id AND ct.deleted_at IS NULL
       LEFT JOIN LATERAL (${SELECT_FACTS} AND ci.contact_id = c.contact_id) f ON true
       WHERE c.workspace_id = $1 AND c.id = ANY($3::uuid[])
       ORDER BY c.id, f."createdAt", f.id`,
      [tx.workspaceId, QUOTA_CHANNELS, conversationIds, null],
    );
    const facts = new Map<string, { contactId: string; identities: IdentityFactsRow[] }>();
    for (const { conversationId, conversationContactId, ...row } of rows) {
      let entry = facts.get(conversationId);
      if (!entry) facts.set(conversationId, (entry = { contactId: conversationContactId, identities: [] }));
      if (row.id !== null) entry.identities.push(row);
    }
    return facts;
  }

  /** `excludeMessageId`: a queued message asking whether it may go now is not counted against its own quota. */
  async factsOfIdentities(tx: TenantTx, identityIds: string[], excludeMessageId: string | null = null): Promise<IdentityFactsRow[]> {
    return tx.manager.query(`${SELECT_FACTS} AND ci.id = ANY($3::uuid[]) ORDER BY ci.created_at, ci.id`, [
      tx.workspaceId,
      QUOTA_CHANNELS,
      identityIds,
      excludeMessageId,
    ]);
  }

  /**
   * Locks these identities until the transaction ends (in id order: no deadlock between two senders),
   * so two sends racing for a quota's last message count one another (NO KEY UPDATE: the inserts that
   * only reference the identity, inbound messages among them, are not held up). Read the facts in a later
   * statement: a statement that waited for the lock still reads the other tables as they were before.
   */
  async lockIdentities(tx: TenantTx, identityIds: string[]): Promise<void> {
    await tx.manager.query(
      `SELECT ci.id FROM contact_identities ci WHERE ci.workspace_id = $1 AND ci.id = ANY($2::uuid[]) ORDER BY ci.id FOR NO KEY UPDATE`,
      [tx.workspaceId, identityIds],
    );
  }
}
