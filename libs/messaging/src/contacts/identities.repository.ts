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

/** Queries of contact identities: a contact's address on one inbox (WeChat OpenID, wa_id, email...). */
@Injectable()
export class IdentitiesRepository {
  async findById(tx: TenantTx, id: string): Promise<ContactIdentityEntity | null> {
    return tx.manager.findOneBy(ContactIdentityEntity, { workspaceId: tx.workspaceId, id });
  }

  async findByExternalId(tx: TenantTx, inboxId: string, externalId: string): Promise<ContactIdentityEntity | null> {
    return tx.manager.findOneBy(ContactIdentityEntity, { workspaceId: tx.workspaceId, inboxId, externalId });
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
