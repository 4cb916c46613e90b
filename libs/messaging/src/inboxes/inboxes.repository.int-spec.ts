import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { InboxesRepository } from './inboxes.repository.js';

describe('InboxesRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const repo = new InboxesRepository();

  beforeAll(async () => {
    const config = await testConfig();
    a = await seedTenant(config, 'Inbox repo A');
    b = await seedTenant(config, 'Inbox repo B');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
  });

  const newRow = (name: string) => ({ id: uuidv7(), name, channel: 'api' as const, config: { webhookUrl: 'https://crm.example.com/hook' }, secrets: null });

  it('inserts and finds an inbox, with its times set, in its own workspace only', async () => {
    const row = newRow('Website');
    const inserted = await db.run(a.workspaceId, (tx) => repo.insert(tx, row));
    expect(inserted.createdAt).toBeInstanceOf(Date);
    const found = await db.run(a.workspaceId, (tx) => repo.findById(tx, row.id));
    expect(found).toMatchObject({ ...row, workspaceId: a.workspaceId, deletedAt: null });
    expect(await db.run(b.workspaceId, (tx) => repo.findById(tx, row.id))).toBeNull();
    expect(await db.run(b.workspaceId, (tx) => repo.findByIdForUpdate(tx, row.id))).toBeNull();
  });

  it('updates name, config and secrets, and not across workspaces', async () => {
    const row = newRow('Before');
    await db.run(a.workspaceId, (tx) => repo.insert(tx, row));
    await db.run(b.workspaceId, (tx) => repo.update(tx, row.id, { name: 'Hijacked' }));
    await db.run(a.workspaceId, (tx) => repo.update(tx, row.id, { name: 'After', config: { nested: { x: 1 } }, secrets: 'v1.sealed' }));
    const found = await db.run(a.workspaceId, (tx) => repo.findByIdForUpdate(tx, row.id));
    expect(found).toMatchObject({ name: 'After', config: { nested: { x: 1 } }, secrets: 'v1.sealed' });
    expect(found!.updatedAt.getTime()).toBeGreaterThanOrEqual(found!.createdAt.getTime());
  });

  it('soft-deletes: the row stays, hidden from lookups and lists; a second delete finds nothing', async () => {
    const row = newRow('Doomed');
    await db.run(a.workspaceId, (tx) => repo.insert(tx, row));
    expect(await db.run(b.workspaceId, (tx) => repo.softDelete(tx, row.id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => repo.softDelete(tx, row.id))).toBe(true);
    expect(await db.run(a.workspaceId, (tx) => repo.softDelete(tx, row.id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, row.id))).toBeNull();
    const raw = await db.run(a.workspaceId, (tx) => tx.manager.query(`SELECT deleted_at FROM inboxes WHERE id = $1`, [row.id]));
    expect(raw[0].deleted_at).toBeInstanceOf(Date);
    const listed = await db.run(a.workspaceId, (tx) => repo.listAfter(tx, null, 100));
    expect(listed.map((r) => r.id)).not.toContain(row.id);
  });

  it('lists in creation order after a given id, only its own workspace', async () => {
    const tenant = await seedTenant(await testConfig(), 'Inbox repo list');
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const row = newRow(`Inbox ${i}`);
      ids.push(row.id);
      await db.run(tenant.workspaceId, (tx) => repo.insert(tx, row));
    }
    const first = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, null, 3));
    expect(first.map((r) => r.id)).toEqual(ids.slice(0, 3));
    const rest = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, ids[2]!, 3));
    expect(rest.map((r) => r.id)).toEqual(ids.slice(3));
    expect(rest.every((r) => r.workspaceId === tenant.workspaceId)).toBe(true);
  });
});
