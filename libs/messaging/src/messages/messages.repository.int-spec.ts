import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, DeliveryAttemptEntity, InboxEntity, TenantDb, type TenantTx } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { ConversationsRepository } from '../conversations/conversations.repository.js';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { MessagesRepository, type NewMessage } from './messages.repository.js';

describe('MessagesRepository', () => {
  const repo = new MessagesRepository();
  let dataSource: DataSource;
  let db: TenantDb;
  let tenant: SeededTenant;
  let thread: { conversationId: string; inboxId: string; identityId: string };

  const message = (fields: Partial<NewMessage> = {}): NewMessage => ({
    id: uuidv7(),
    conversationId: thread.conversationId,
    direction: 'in',
    type: 'text',
    body: 'hello',
    template: null,
    status: 'received',
    identityId: thread.identityId,
    inboxId: thread.inboxId,
    senderMemberId: null,
    externalId: null,
    fallback: [],
    ...fields,
  });

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    tenant = await seedTenant(config, 'Messages');
    thread = await db.run(tenant.workspaceId, async (tx: TenantTx) => {
      const inboxId = uuidv7();
      await tx.manager.insert(InboxEntity, { id: inboxId, workspaceId: tx.workspaceId, name: 'LINE', channel: 'line', config: {}, secrets: null, deletedAt: null });
      const contact = await new ContactsRepository().insert(tx, {
        id: uuidv7(), name: 'Somchai', email: null, phone: null, language: 'th', timezone: 'Asia/Bangkok', country: 'TH', customAttributes: {},
      });
      const identity = await new IdentitiesRepository().insert(tx, {
        id: uuidv7(), contactId: contact.id, inboxId, channel: 'line', externalId: 'U1234', displayName: null,
      });
      const conversationId = uuidv7();
      await new ConversationsRepository().insert(tx, { id: conversationId, contactId: contact.id, lastInboxId: inboxId });
      return { conversationId, inboxId, identityId: identity.id };
    });
  });
  afterAll(async () => dataSource?.destroy());

  it('inserts a message and reads it back with its inbox channel', async () => {
    const template = { name: 'reminder', language: 'th', parameters: ['ศุกร์'] };
    const row = await db.run(tenant.workspaceId, (tx) =>
      repo.insert(tx, message({ direction: 'out', type: 'template', status: 'queued', template, fallback: [thread.identityId] })),
    );
    expect(row).toMatchObject({ channel: 'line', direction: 'out', status: 'queued', template, fallback: [thread.identityId], errorCode: null });
    expect(row.createdAt).toBeInstanceOf(Date);
    const note = await db.run(tenant.workspaceId, (tx) =>
      repo.insert(tx, message({ direction: 'note', type: 'note', identityId: null, inboxId: null })),
    );
    expect(note.channel).toBeNull();
  });

  it('finds a message by its external id, and refuses the same external id twice on one inbox', async () => {
    const row = await db.run(tenant.workspaceId, (tx) => repo.insert(tx, message({ externalId: 'line-msg-1' })));
    expect(await db.run(tenant.workspaceId, (tx) => repo.findByExternalId(tx, thread.inboxId, 'line-msg-1'))).toMatchObject({ id: row.id });
    expect(await db.run(tenant.workspaceId, (tx) => repo.findByExternalId(tx, thread.inboxId, 'other'))).toBeNull();
    const again = db.run(tenant.workspaceId, (tx) => repo.insert(tx, message({ externalId: 'line-msg-1' })));
    await expect(again.catch(uniqueViolation)).resolves.toBe('messages_external_key');
  });

  it('pages the thread both ways to the end without duplicates or gaps', async () => {
    await db.run(tenant.workspaceId, async (tx) => {
      for (let i = 0; i < 9; i++) await repo.insert(tx, message({ body: `m${i}` }));
    });
    const all = (await db.run(tenant.workspaceId, (tx) => repo.listByConversation(tx, thread.conversationId, { order: 'asc', limit: 1000 }))).map((m) => m.id);
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await db.run(tenant.workspaceId, (tx) =>
          repo.listByConversation(tx, thread.conversationId, { order, limit: 4, ...(afterId ? { afterId } : {}) }),
        );
        seen.push(...page.map((m) => m.id));
        if (page.length < 4) break;
        afterId = page[page.length - 1]!.id;
      }
      expect(seen).toEqual(order === 'asc' ? all : [...all].reverse());
    }
    expect(all).toEqual([...all].sort());
  });

  it('lists a message\'s delivery attempts, oldest first, and nothing of another workspace', async () => {
    const row = await db.run(tenant.workspaceId, (tx) => repo.insert(tx, message({ direction: 'out', status: 'queued' })));
    expect(await db.run(tenant.workspaceId, (tx) => repo.listAttempts(tx, row.id))).toEqual([]);
    await db.run(tenant.workspaceId, (tx) =>
      tx.manager.insert(DeliveryAttemptEntity, {
        id: uuidv7(), workspaceId: tx.workspaceId, messageId: row.id, identityId: thread.identityId, inboxId: thread.inboxId,
        channel: 'line', status: 'sent', providerRequestId: 'req-1', responseCode: '200', errorCode: null, error: null, latencyMs: 12,
      }),
    );
    expect(await db.run(tenant.workspaceId, (tx) => repo.listAttempts(tx, row.id))).toMatchObject([{ status: 'sent', latencyMs: 12 }]);
    const other = await seedTenant(await testConfig(), 'Other');
    expect(await db.run(other.workspaceId, (tx) => repo.findById(tx, row.id))).toBeNull();
    expect(await db.run(other.workspaceId, (tx) => repo.listAttempts(tx, row.id))).toEqual([]);
  });
});
