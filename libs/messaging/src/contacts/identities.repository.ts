import { Injectable } from '@nestjs/common';
import { ContactIdentityEntity, InboxEntity, type TenantTx } from '#database';

export interface NewIdentity {
  id: string;
  contactId: string;
  inboxId: string;
  channel: ContactIdentityEntity['channel'];
  externalId: string;
  displayName: string | null;
}

const IDENTITY_COLUMNS = `
  ci.id, ci.workspace_id AS "workspaceId", ci.contact_id AS "contactId", ci.inbox_id AS "inboxId", ci.channel,
  ci.external_id AS "externalId", ci.display_name AS "displayName", ci.last_inbound_at AS "lastInboundAt",
  ci.reply_token AS "replyToken", ci.reply_token_expires_at AS "replyTokenExpiresAt",
  ci.unsubscribed_at AS "unsubscribedAt", ci.created_at AS "createdAt"`;

/** Queries of contact identities: a contact's address on one inbox (WeChat OpenID, wa_id, email...). */
@Injectable()
export class IdentitiesRepository {
  // Raw SQL: read on every send, where TypeORM's query building costs more than the query.
  async findById(tx: TenantTx, id: string): Promise<ContactIdentityEntity | null> {
    const rows: ContactIdentityEntity[] = await tx.manager.query(`SELECT ${IDENTITY_COLUMNS} FROM contact_identities ci WHERE ci.workspace_id = $1 AND ci.id = $2`, [tx.workspaceId, id]);
    return rows[0] ?? null;
  }

  async findByExternalId(tx: TenantTx, inboxId: string, externalId: string): Promise<ContactIdentityEntity | null> {
    return tx.manager.findOneBy(ContactIdentityEntity, { workspaceId: tx.workspaceId, inboxId, externalId });
  }

  /** The identity, and whether its contact is still there (not deleted), in one statement. */
  async findByExternalIdWithContact(
    tx: TenantTx,
    inboxId: string,
    externalId: string,
  ): Promise<{ identity: ContactIdentityEntity; contactLive: boolean } | null> {
    const rows: Array<ContactIdentityEntity & { contactLive: boolean }> = await tx.manager.query(
      `SELECT ${IDENTITY_COLUMNS},
         EXISTS (SELECT 1 FROM contacts c WHERE c.workspace_id = ci.workspace_id AND c.id = ci.contact_id AND c.deleted_at IS NULL) AS "contactLive"
       FROM contact_identities ci WHERE ci.workspace_id = $1 AND ci.inbox_id = $2 AND ci.external_id = $3`,
      [tx.workspaceId, inboxId, externalId],
    );
    const row = rows[0];
    if (!row) return null;
    const { contactLive, ...identity } = row;
    return { identity: identity as ContactIdentityEntity, contactLive };
  }

  /** findByExternalIdWithContact for several (inbox, external id) pairs: those that exist, keyed `${inboxId} ${externalId}`. */
  async findManyByExternalIdWithContact(
    tx: TenantTx,
    pairs: Array<{ inboxId: string; externalId: string }>,
  ): Promise<Map<string, { identity: ContactIdentityEntity; contactLive: boolean }>> {
    const rows: Array<ContactIdentityEntity & { contactLive: boolean }> = await tx.manager.query(
      `SELECT ${IDENTITY_COLUMNS},
         EXISTS (SELECT 1 FROM contacts c WHERE c.workspace_id = ci.workspace_id AND c.id = ci.contact_id AND c.deleted_at IS NULL) AS "contactLive"
       FROM contact_identities ci
       JOIN unnest($2::uuid[], $3::text[]) AS p(inbox_id, external_id) ON ci.inbox_id = p.inbox_id AND ci.external_id = p.external_id
       WHERE ci.workspace_id = $1`,
      [tx.workspaceId, pairs.map((pair) => pair.inboxId), pairs.map((pair) => pair.externalId)],
    );
    return new Map(rows.map(({ contactLive, ...identity }) => [`${identity.inboxId} ${identity.externalId}`, { identity: identity as ContactIdentityEntity, contactLive }]));
  }

  async listByContact(tx: TenantTx, contactId: string): Promise<ContactIdentityEntity[]> {
    return tx.manager.find(ContactIdentityEntity, {
      where: { workspaceId: tx.workspaceId, contactId },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /** The contact's identities whose inbox still exists: the ones a message can leave on. */
  async listSendable(tx: TenantTx, contactId: string): Promise<ContactIdentityEntity[]> {
    return tx.manager
      .createQueryBuilder(ContactIdentityEntity, 'ci')
      .innerJoin(InboxEntity, 'i', 'i.workspace_id = ci.workspace_id AND i.id = ci.inbox_id AND i.deleted_at IS NULL')
      .where('ci.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .andWhere('ci.contact_id = :contactId', { contactId })
      .orderBy('ci.created_at', 'ASC')
      .addOrderBy('ci.id', 'ASC')
      .getMany();
  }

  async insert(tx: TenantTx, identity: NewIdentity): Promise<ContactIdentityEntity> {
    await tx.manager.insert(ContactIdentityEntity, { ...identity, workspaceId: tx.workspaceId, lastInboundAt: null });
    return tx.manager.findOneByOrFail(ContactIdentityEntity, { workspaceId: tx.workspaceId, id: identity.id });
  }

  /** Re-homes an identity whose contact was deleted: the customer came back as a new contact. */
  async moveToContact(tx: TenantTx, id: string, contactId: string): Promise<void> {
    await tx.manager.update(ContactIdentityEntity, { workspaceId: tx.workspaceId, id }, { contactId });
  }

  async markInbound(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.update(ContactIdentityEntity, { workspaceId: tx.workspaceId, id }, { lastInboundAt: () => 'now()' });
  }

  /** LINE: the latest reply token replaces any earlier one (each is good for one reply, briefly). */
  async setReplyToken(tx: TenantTx, id: string, token: string, expiresAt: Date): Promise<void> {
    await tx.manager.update(ContactIdentityEntity, { workspaceId: tx.workspaceId, id }, { replyToken: token, replyTokenExpiresAt: expiresAt });
  }

  /** The customer unfollowed (`at`) or followed again (null) on this identity's channel. */
  async setUnsubscribed(tx: TenantTx, id: string, at: Date | null): Promise<void> {
    await tx.manager.update(ContactIdentityEntity, { workspaceId: tx.workspaceId, id }, { unsubscribedAt: at });
  }
}
