import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, InboxEntity, TenantDb, type TenantTx } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { type NewTemplateRow, type SyncedTemplateRow, TemplatesRepository } from './templates.repository.js';

describe('TemplatesRepository', () => {
  const repo = new TemplatesRepository();
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  let inboxA: string;
  let otherInboxA: string;
  let inboxB: string;

  const addInbox = (workspaceId: string, name: string) =>
    db.run(workspaceId, async (tx: TenantTx) => {
      const id = uuidv7();
      await tx.manager.insert(InboxEntity, { id, workspaceId, name, channel: 'whatsapp', config: {}, secrets: null, deletedAt: null });
      return id;
    });

  const manual = (inboxId: string, fields: Partial<NewTemplateRow> = {}): NewTemplateRow => ({
    id: uuidv7(),
    inboxId,
    name: 'greeting',
    language: 'en_US',
    category: 'utility',
    status: 'approved',
    body: 'Hello {{1}}',
    components: [],
    parameterCount: 1,
    ...fields,
  });

  const synced = (inboxId: string, name: string, language: string, fields: Partial<SyncedTemplateRow> = {}): SyncedTemplateRow => ({
    ...manual(inboxId, { name, language, components: [{ type: 'BODY', text: 'Hello {{1}}' }] }),
    providerTemplateId: `p-${name}-${language}`,
    ...fields,
  });

  const names = async (workspaceId: string, inboxId: string) =>
    (await db.run(workspaceId, (tx) => repo.listByInbox(tx, inboxId, { after: null, take: 100 }))).map((t) => `${t.name}/${t.language}/${t.source}/${t.status}`);

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    a = await seedTenant(config, 'Templates A');
    b = await seedTenant(config, 'Templates B');
    inboxA = await addInbox(a.workspaceId, 'WA A');
    otherInboxA = await addInbox(a.workspaceId, 'WA A2');
    inboxB = await addInbox(b.workspaceId, 'WA B');
  });

  afterAll(async () => {
    await dataSource?.destroy();
  });

  it('stores a manual template and finds it by id and by (name, language), in its inbox and workspace only', async () => {
    const row = manual(inboxA, { name: 'welcome' });
    const stored = await db.run(a.workspaceId, (tx) => repo.insert(tx, row));
    expect(stored).toMatchObject({ id: row.id, inboxId: inboxA, source: 'manual', syncedAt: null, parameterCount: 1, components: [] });
    expect(await db.run(a.workspaceId, (tx) => repo.findByName(tx, inboxA, 'welcome', 'en_US'))).toMatchObject({ id: row.id });
    expect(await db.run(a.workspaceId, (tx) => repo.findByName(tx, inboxA, 'welcome', 'pt_BR'))).toBeNull();
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, otherInboxA, row.id))).toBeNull();
    expect(await db.run(b.workspaceId, (tx) => repo.findById(tx, inboxA, row.id))).toBeNull();
    // Row-level security as the second wall: a query without the workspace filter still sees nothing of A.
    const leaked = await db.run(b.workspaceId, (tx) => tx.manager.query('SELECT id FROM message_templates WHERE id = $1', [row.id]));
    expect(leaked).toEqual([]);
  });

  it('keeps (name, language) unique per inbox, not across inboxes', async () => {
    await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inboxA, { name: 'dup' })));
    const error = await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inboxA, { name: 'dup' }))).catch((e: unknown) => e);
    expect(uniqueViolation(error)).toBe('message_templates_name_key');
    await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inboxA, { name: 'dup', language: 'pt_BR' })));
    await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(otherInboxA, { name: 'dup' })));
  });

  it('pages by (name, id) without gaps or repeats, and filters by status', async () => {
    const inbox = await addInbox(a.workspaceId, 'paging');
    for (const [name, status] of [['c', 'approved'], ['a', 'pending'], ['b', 'approved'], ['d', 'rejected'], ['e', 'approved']] as const) {
      await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inbox, { name, status })));
    }
    const all = await db.run(a.workspaceId, (tx) => repo.listByInbox(tx, inbox, { after: null, take: 100 }));
    expect(all.map((t) => t.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const first = await db.run(a.workspaceId, (tx) => repo.listByInbox(tx, inbox, { after: null, take: 2 }));
    const rest = await db.run(a.workspaceId, (tx) => repo.listByInbox(tx, inbox, { after: { name: first[1]!.name, id: first[1]!.id }, take: 100 }));
    expect([...first, ...rest].map((t) => t.id)).toEqual(all.map((t) => t.id));
    const approved = await db.run(a.workspaceId, (tx) => repo.listByInbox(tx, inbox, { status: 'approved', after: null, take: 100 }));
    expect(approved.map((t) => t.name)).toEqual(['b', 'c', 'e']);
  });

  it("replaces the inbox's provider templates with the provider's list: upserts by (name, language), deletes the unlisted, keeps manual ones", async () => {
    const inbox = await addInbox(a.workspaceId, 'sync');
    await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inbox, { name: 'kept_manual' })));
    await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inbox, { name: 'taken_over', status: 'pending' })));
    const first = await db.run(a.workspaceId, (tx) =>
      repo.replaceSynced(tx, inbox, [synced(inbox, 'hello', 'en_US'), synced(inbox, 'hello', 'pt_BR'), synced(inbox, 'taken_over', 'en_US')], new Date('2026-03-01T00:00:00Z')),
    );
    expect(first).toEqual({ stored: 3, removed: 0 });
    expect(await names(a.workspaceId, inbox)).toEqual([
      'hello/en_US/provider/approved',
      'hello/pt_BR/provider/approved',
      'kept_manual/en_US/manual/approved',
      'taken_over/en_US/provider/approved',
    ]);
    const hello = await db.run(a.workspaceId, (tx) => repo.findByName(tx, inbox, 'hello', 'en_US'));
    expect(hello).toMatchObject({ providerTemplateId: 'p-hello-en_US', syncedAt: new Date('2026-03-01T00:00:00Z'), components: [{ type: 'BODY', text: 'Hello {{1}}' }] });

    // The provider dropped hello/pt_BR and taken_over, and rejected hello/en_US: same id, new status.
    const second = await db.run(a.workspaceId, (tx) =>
      repo.replaceSynced(tx, inbox, [synced(inbox, 'hello', 'en_US', { status: 'rejected', body: 'Hi {{1}}' })], new Date('2026-03-02T00:00:00Z')),
    );
    expect(second).toEqual({ stored: 1, removed: 2 });
    expect(await names(a.workspaceId, inbox)).toEqual(['hello/en_US/provider/rejected', 'kept_manual/en_US/manual/approved']);
    expect(await db.run(a.workspaceId, (tx) => repo.findByName(tx, inbox, 'hello', 'en_US'))).toMatchObject({ id: hello!.id, body: 'Hi {{1}}' });

    // An empty list removes every provider template, and nothing of another inbox or workspace.
    await db.run(b.workspaceId, (tx) => repo.replaceSynced(tx, inboxB, [synced(inboxB, 'hello', 'en_US')], new Date()));
    expect(await db.run(a.workspaceId, (tx) => repo.replaceSynced(tx, inbox, [], new Date()))).toEqual({ stored: 0, removed: 1 });
    expect(await names(a.workspaceId, inbox)).toEqual(['kept_manual/en_US/manual/approved']);
    expect(await names(b.workspaceId, inboxB)).toEqual(['hello/en_US/provider/approved']);
  });

  it('updates and deletes within its inbox only', async () => {
    const row = await db.run(a.workspaceId, (tx) => repo.insert(tx, manual(inboxA, { name: 'to_change' })));
    await db.run(a.workspaceId, (tx) => repo.update(tx, row.id, { body: 'Hi {{1}} and {{2}}', parameterCount: 2, status: 'rejected' }));
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, inboxA, row.id))).toMatchObject({ body: 'Hi {{1}} and {{2}}', parameterCount: 2, status: 'rejected' });
    expect(await db.run(a.workspaceId, (tx) => repo.delete(tx, otherInboxA, row.id))).toBe(false);
    expect(await db.run(b.workspaceId, (tx) => repo.delete(tx, inboxA, row.id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => repo.delete(tx, inboxA, row.id))).toBe(true);
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, inboxA, row.id))).toBeNull();
  });
});
