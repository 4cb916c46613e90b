import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import pg from 'pg';
import { type Channel, uuidv7 } from '#domain';
import { createAppDataSource, InboxEntity, TenantDb, type TenantTx } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { ConversationsRepository } from '../conversations/conversations.repository.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { ReachabilityRepository } from './reachability.repository.js';

describe('ReachabilityRepository', () => {
  const repo = new ReachabilityRepository();
  const messages = new MessagesRepository();
  let dataSource: DataSource;
  let db: TenantDb;
  let owner: pg.Client;
  let a: SeededTenant;
  let b: SeededTenant;
  let contactId: string;
  let conversationId: string;
  const ids = {} as Record<'wechat' | 'whatsapp' | 'deletedInbox', string>;

  async function identity(tx: TenantTx, channel: Channel, options: { deleted?: boolean } = {}): Promise<string> {
    const inboxId = uuidv7();
    await tx.manager.insert(InboxEntity, {
      id: inboxId, workspaceId: tx.workspaceId, name: channel, channel, config: {}, secrets: null, deletedAt: options.deleted ? new Date() : null,
    });
    const row = await new IdentitiesRepository().insert(tx, { id: uuidv7(), contactId, inboxId, channel, externalId: `ext-${uuidv7()}`, displayName: null });
    return row.id;
  }

  /** An outbound message on the identity, written `at` (the database's own clock, set directly). */
  async function outbound(identityId: string, status: 'queued' | 'sent' | 'failed', at: string): Promise<void> {
    const id = uuidv7();
    await db.run(a.workspaceId, (tx) =>
      messages.insert(tx, {
        id, conversationId, direction: 'out', type: 'text', body: 'hi', template: null, status, identityId, inboxId: null, senderMemberId: null, externalId: null, fallback: [],
      }),
    );
    await owner.query('UPDATE messages SET created_at = $2 WHERE id = $1', [id, at]);
  }

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    a = await seedTenant(config, 'Reachability A');
    b = await seedTenant(config, 'Reachability B');
    await db.run(a.workspaceId, async (tx) => {
      const contact = await new ContactsRepository().insert(tx, {
        id: uuidv7(), name: 'Li Wei', email: null, phone: null, language: 'zh', timezone: null, country: 'CN', customAttributes: {},
      });
      contactId = contact.id;
      ids.wechat = await identity(tx, 'wechat');
      ids.whatsapp = await identity(tx, 'whatsapp');
      ids.deletedInbox = await identity(tx, 'sms', { deleted: true });
      conversationId = uuidv7();
      await new ConversationsRepository().insert(tx, { id: conversationId, contactId, lastInboxId: null });
    });
    await owner.query(`UPDATE contact_identities SET last_inbound_at = '2026-03-10T10:00:00Z' WHERE id = ANY($1)`, [[ids.wechat, ids.whatsapp]]);
    await owner.query(`UPDATE contact_identities SET reply_token_expires_at = '2026-03-10T10:01:00Z', unsubscribed_at = '2026-03-10T11:00:00Z' WHERE id = $1`, [ids.whatsapp]);
  });

  afterAll(async () => {
    await owner?.end();
    await dataSource?.destroy();
  });

  it("lists the contact's identities on inboxes that exist, with their window facts", async () => {
    const rows = await db.run(a.workspaceId, (tx) => repo.factsOfContact(tx, contactId));
    expect(rows.map((r) => r.id)).toEqual([ids.wechat, ids.whatsapp]);
    expect(rows[1]).toMatchObject({
      contactId,
      channel: 'whatsapp',
      lastInboundAt: new Date('2026-03-10T10:00:00Z'),
      replyTokenExpiresAt: new Date('2026-03-10T10:01:00Z'),
      unsubscribedAt: new Date('2026-03-10T11:00:00Z'),
      createdAt: expect.any(Date),
    });
  });

  it('counts outbound messages since the last inbound, failed ones and earlier ones excluded, on quota channels only', async () => {
    await outbound(ids.wechat, 'sent', '2026-03-10T09:00:00Z'); // before the customer wrote
    await outbound(ids.wechat, 'sent', '2026-03-10T10:00:00Z'); // at the same instant: not after it
    await outbound(ids.wechat, 'queued', '2026-03-10T10:00:00.001Z');
    await outbound(ids.wechat, 'sent', '2026-03-10T10:05:00Z');
    await outbound(ids.wechat, 'failed', '2026-03-10T10:06:00Z');
    await outbound(ids.whatsapp, 'sent', '2026-03-10T10:07:00Z');
    const rows = await db.run(a.workspaceId, (tx) => repo.factsOfIdentities(tx, [ids.whatsapp, ids.wechat, ids.deletedInbox]));
    const sent = Object.fromEntries(rows.map((r) => [r.channel, r.sentSinceInbound]));
    expect(sent).toEqual({ wechat: 2, whatsapp: 0 }); // the deleted inbox's identity is not listed

    // The customer writes again: the count starts over.
    await owner.query(`UPDATE contact_identities SET last_inbound_at = '2026-03-10T12:00:00Z' WHERE id = $1`, [ids.wechat]);
    const [again] = await db.run(a.workspaceId, (tx) => repo.factsOfIdentities(tx, [ids.wechat]));
    expect(again!.sentSinceInbound).toBe(0);
  });

  it("sees nothing of another workspace's identities", async () => {
    expect(await db.run(b.workspaceId, (tx) => repo.factsOfContact(tx, contactId))).toEqual([]);
    expect(await db.run(b.workspaceId, (tx) => repo.factsOfIdentities(tx, [ids.wechat]))).toEqual([]);
  });

  it('locks the identities until the transaction ends: a second sender waits, then counts the first one', async () => {
    await owner.query(`UPDATE contact_identities SET last_inbound_at = now() - interval '1 hour' WHERE id = $1`, [ids.wechat]);
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstLocked!: () => void;
    const locked = new Promise<void>((resolve) => (firstLocked = resolve));
    const order: string[] = [];
    const first = db.run(a.workspaceId, async (tx) => {
      await repo.lockIdentities(tx, [ids.wechat]);
      firstLocked();
      await firstHolds;
      await messages.insert(tx, {
        id: uuidv7(), conversationId, direction: 'out', type: 'text', body: 'first', template: null, status: 'queued', identityId: ids.wechat, inboxId: null, senderMemberId: null, externalId: null, fallback: [],
      });
      order.push('first committed');
    });
    await locked;
    const second = db.run(a.workspaceId, async (tx) => {
      await repo.lockIdentities(tx, [ids.wechat]);
      order.push('second locked');
      const [row] = await repo.factsOfIdentities(tx, [ids.wechat]);
      return row!.sentSinceInbound;
    });
    // The second sender cannot get the lock while the first holds it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual([]);
    releaseFirst();
    await first;
    expect(await second).toBe(1);
    expect(order).toEqual(['first committed', 'second locked']);
  });
});
