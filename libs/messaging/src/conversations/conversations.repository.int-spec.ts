import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, InboxEntity, LabelEntity, TeamEntity, TenantDb, type TenantTx } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { AssignmentRefsRepository } from './assignment-refs.repository.js';
import { type ConversationFilters, ConversationsRepository } from './conversations.repository.js';
import { uniqueViolation } from './unique-violation.js';

const contacts = new ContactsRepository();
const messages = new MessagesRepository();

const newContact = async (tx: TenantTx, name: string | null = null, email: string | null = null) =>
  (
    await contacts.insert(tx, { id: uuidv7(), name, email, phone: null, language: null, timezone: null, country: null, customAttributes: {} })
  ).id;

async function newInbox(tx: TenantTx): Promise<string> {
  const id = uuidv7();
  await tx.manager.insert(InboxEntity, { id, workspaceId: tx.workspaceId, name: 'API', channel: 'api', config: {}, secrets: null, deletedAt: null });
  return id;
}

async function note(tx: TenantTx, conversationId: string, body: string): Promise<string> {
  const id = uuidv7();
  await messages.insert(tx, {
    id, conversationId, direction: 'note', type: 'note', body, template: null, status: 'received',
    identityId: null, inboxId: null, senderMemberId: null, externalId: null, fallback: [],
  });
  return id;
}

describe('ConversationsRepository', () => {
  const repo = new ConversationsRepository();
  const refs = new AssignmentRefsRepository();
  let dataSource: DataSource;
  let db: TenantDb;
  let tenant: SeededTenant;

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    tenant = await seedTenant(config, 'Conversations');
  });
  afterAll(async () => dataSource?.destroy());

  async function freshWorkspace(): Promise<string> {
    return (await seedTenant(await testConfig(), 'Fresh')).workspaceId;
  }

  it('allows one conversation that is not resolved per contact', async () => {
    await db.run(tenant.workspaceId, async (tx) => {
      const contactId = await newContact(tx, 'One');
      const first = uuidv7();
      await repo.insert(tx, { id: first, contactId, lastInboxId: null });
      expect((await repo.findOpenByContact(tx, contactId))!.id).toBe(first);
      await repo.update(tx, first, { status: 'pending' });
      expect((await repo.findOpenByContact(tx, contactId))!.id).toBe(first);
    });
    // A second open one is refused by the partial unique index, whatever the first one's open state.
    const contactId = await db.run(tenant.workspaceId, async (tx) => {
      const id = await newContact(tx, 'Two');
      await repo.insert(tx, { id: uuidv7(), contactId: id, lastInboxId: null });
      return id;
    });
    const second = db.run(tenant.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), contactId, lastInboxId: null }));
    await expect(second.catch(uniqueViolation)).resolves.toBe('conversations_one_open_per_contact');

    // Once resolved, a new one may open; reopening the old one then collides.
    await db.run(tenant.workspaceId, async (tx) => {
      const open = (await repo.findOpenByContact(tx, contactId))!;
      await repo.update(tx, open.id, { status: 'resolved', resolved: true });
      expect(await repo.findOpenByContact(tx, contactId)).toBeNull();
      const row = await repo.findById(tx, open.id);
      expect(row!.resolvedAt).toBeInstanceOf(Date);
      await repo.insert(tx, { id: uuidv7(), contactId, lastInboxId: null });
    });
    const reopen = db.run(tenant.workspaceId, async (tx) => {
      const resolved = await tx.manager.query(`SELECT id FROM conversations WHERE contact_id = $1 AND status = 'resolved'`, [contactId]);
      await repo.update(tx, resolved[0].id, { status: 'open', resolved: false });
    });
    await expect(reopen.catch(uniqueViolation)).resolves.toBe('conversations_one_open_per_contact');
  });

  it('pages by last activity to the end without duplicates or gaps when many rows share the same time', async () => {
    const ws = await freshWorkspace();
    const ids = await db.run(ws, async (tx) => {
      const made: string[] = [];
      for (let i = 0; i < 23; i++) {
        const id = uuidv7();
        await repo.insert(tx, { id, contactId: await newContact(tx, `Tie ${i}`), lastInboxId: null });
        made.push(id);
      }
      // Ties at one microsecond-precise instant, plus a few distinct times around them.
      await tx.manager.query(`UPDATE conversations SET last_activity_at = '2025-05-05T05:05:05.123456Z' WHERE workspace_id = $1`, [ws]);
      await tx.manager.query(`UPDATE conversations SET last_activity_at = '2025-05-05T05:05:05.123457Z' WHERE id = $1`, [made[3]]);
      await tx.manager.query(`UPDATE conversations SET last_activity_at = '2025-05-05T05:05:05.123455Z' WHERE id = $1`, [made[7]]);
      return made;
    });
    const seen: string[] = [];
    let after: { key: string; id: string } | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page = await db.run(ws, (tx) => repo.list(tx, {}, after, 4));
      seen.push(...page.map((row) => row.id));
      if (page.length < 4) break;
      const last = page[page.length - 1]!;
      after = { key: last.activityKey, id: last.id };
    }
    expect(seen).toHaveLength(ids.length);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen[0]).toBe(ids[3]);
    expect(seen[seen.length - 1]).toBe(ids[7]);
    const ties = seen.slice(1, -1);
    expect(ties).toEqual([...ties].sort().reverse());
  });

  it('filters by status, assignee, team, last inbox and label; previews the last message and the contact', async () => {
    const ws = await freshWorkspace();
    const seeded = await db.run(ws, async (tx) => {
      const memberRows = await tx.manager.query(`SELECT id FROM members WHERE workspace_id = $1`, [ws]);
      const memberId: string = memberRows[0].id;
      const teamId = uuidv7();
      await tx.manager.insert(TeamEntity, { id: teamId, workspaceId: ws, name: 'Support', description: null });
      await tx.manager.insert(LabelEntity, { id: uuidv7(), workspaceId: ws, name: 'vip', color: '#000000', description: null });
      const inboxId = await newInbox(tx);
      const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
      await repo.insert(tx, { id: a, contactId: await newContact(tx, 'Alice'), lastInboxId: inboxId });
      await repo.insert(tx, { id: b, contactId: await newContact(tx, 'Bob'), lastInboxId: null });
      await repo.insert(tx, { id: c, contactId: await newContact(tx, 'Carol'), lastInboxId: null });
      await repo.update(tx, a, { assigneeId: memberId, labels: ['vip'] });
      await repo.update(tx, b, { status: 'pending', teamId });
      await note(tx, a, 'first');
      await note(tx, a, 'second and last');
      return { memberId, teamId, inboxId, a, b, c };
    });
    const ids = async (filters: ConversationFilters) => (await db.run(ws, (tx) => repo.list(tx, filters, null, 50))).map((r) => r.id).sort();
    expect(await ids({})).toEqual([seeded.a, seeded.b, seeded.c].sort());
    expect(await ids({ status: 'pending' })).toEqual([seeded.b]);
    expect(await ids({ status: 'open' })).toEqual([seeded.a, seeded.c].sort());
    expect(await ids({ assigneeId: seeded.memberId })).toEqual([seeded.a]);
    expect(await ids({ teamId: seeded.teamId })).toEqual([seeded.b]);
    expect(await ids({ inboxId: seeded.inboxId })).toEqual([seeded.a]);
    expect(await ids({ label: 'vip' })).toEqual([seeded.a]);
    expect(await ids({ label: 'nope' })).toEqual([]);

    const a = await db.run(ws, (tx) => repo.findById(tx, seeded.a));
    expect(a).toMatchObject({ contactName: 'Alice', labels: ['vip'], lastMessage: { body: 'second and last', direction: 'note' } });
    expect((await db.run(ws, (tx) => repo.findById(tx, seeded.c)))!.lastMessage).toBeNull();

    expect(await db.run(ws, (tx) => refs.memberExists(tx, seeded.memberId))).toBe(true);
    expect(await db.run(ws, (tx) => refs.memberExists(tx, uuidv7()))).toBe(false);
    expect(await db.run(ws, (tx) => refs.teamExists(tx, seeded.teamId))).toBe(true);
    expect(await db.run(tenant.workspaceId, (tx) => refs.teamExists(tx, seeded.teamId))).toBe(false);
    expect(await db.run(ws, (tx) => refs.missingLabels(tx, ['vip', 'ghost']))).toEqual(['ghost']);
  });

  it('searches contacts and message bodies: English words and Chinese substrings', async () => {
    const ws = await freshWorkspace();
    const c = await db.run(ws, async (tx) => {
      const ids = { wang: uuidv7(), refund: uuidv7(), chinese: uuidv7(), plain: uuidv7() };
      await repo.insert(tx, { id: ids.wang, contactId: await newContact(tx, '王小明'), lastInboxId: null });
      await repo.insert(tx, { id: ids.refund, contactId: await newContact(tx, 'Ada', 'ada@example.com'), lastInboxId: null });
      await repo.insert(tx, { id: ids.chinese, contactId: await newContact(tx, 'Li'), lastInboxId: null });
      await repo.insert(tx, { id: ids.plain, contactId: await newContact(tx, 'Bob'), lastInboxId: null });
      await note(tx, ids.refund, 'I would like a refund for the tour, please');
      await note(tx, ids.chinese, '我想把行程改到星期五可以吗');
      await note(tx, ids.plain, 'Thanks, 100% fine');
      return ids;
    });
    const search = async (q: string) => (await db.run(ws, (tx) => repo.list(tx, { q }, null, 50))).map((r) => r.id).sort();
    expect(await search('小明')).toEqual([c.wang]);
    expect(await search('refund tour')).toEqual([c.refund]);
    expect(await search('REFUND')).toEqual([c.refund]);
    expect(await search('星期五')).toEqual([c.chinese]);
    expect(await search('行程')).toEqual([c.chinese]);
    expect(await search('ada@example')).toEqual([c.refund]);
    expect(await search('100%')).toEqual([c.plain]);
    expect(await search('%')).toEqual([c.plain]);
    expect(await search('nothing like this')).toEqual([]);
    expect((await db.run(ws, (tx) => repo.list(tx, { q: '星期五', status: 'resolved' }, null, 50))).length).toBe(0);
  });

  it('moves a conversation to the top on activity and records the inbound inbox', async () => {
    const ws = await freshWorkspace();
    const { older, inboxId } = await db.run(ws, async (tx) => {
      const ids = { older: uuidv7(), newer: uuidv7(), inboxId: await newInbox(tx) };
      await repo.insert(tx, { id: ids.older, contactId: await newContact(tx), lastInboxId: null });
      await repo.insert(tx, { id: ids.newer, contactId: await newContact(tx), lastInboxId: null });
      await tx.manager.query(`UPDATE conversations SET last_activity_at = now() - interval '1 hour' WHERE id = $1`, [ids.older]);
      return ids;
    });
    await db.run(ws, (tx) => repo.touchActivity(tx, older, inboxId));
    const rows = await db.run(ws, (tx) => repo.list(tx, {}, null, 10));
    expect(rows[0]).toMatchObject({ id: older, lastInboxId: inboxId });
  });

  it('hides the conversations of deleted contacts and of other workspaces', async () => {
    const ws = await freshWorkspace();
    const { id, contactId } = await db.run(ws, async (tx) => {
      const ids = { id: uuidv7(), contactId: await newContact(tx, 'Gone') };
      await repo.insert(tx, { id: ids.id, contactId: ids.contactId, lastInboxId: null });
      return ids;
    });
    expect(await db.run(tenant.workspaceId, (tx) => repo.findById(tx, id))).toBeNull();
    expect(await db.run(ws, (tx) => repo.findById(tx, id))).not.toBeNull();
    await db.run(ws, (tx) => contacts.softDelete(tx, contactId));
    expect(await db.run(ws, (tx) => repo.findById(tx, id))).toBeNull();
    expect(await db.run(ws, (tx) => repo.list(tx, {}, null, 10))).toEqual([]);
  });
});
