import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { LabelsRepository } from './labels.repository.js';

describe('LabelsRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let owner: pg.Client;
  let a: SeededTenant;
  let b: SeededTenant;
  const repo = new LabelsRepository();

  beforeAll(async () => {
    const config = await testConfig();
    a = await seedTenant(config, 'Labels A');
    b = await seedTenant(config, 'Labels B');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await dataSource?.destroy();
  });

  /** A conversation of the workspace carrying `labels`, written through the owner connection. */
  async function conversationWith(workspaceId: string, labels: string[]): Promise<string> {
    const contactId = uuidv7();
    const id = uuidv7();
    await owner.query(`INSERT INTO contacts (id, workspace_id, name) VALUES ($1, $2, 'Someone')`, [contactId, workspaceId]);
    await owner.query(`INSERT INTO conversations (id, workspace_id, contact_id, labels) VALUES ($1, $2, $3, $4)`, [id, workspaceId, contactId, labels]);
    return id;
  }
  const labelsOf = async (id: string): Promise<string[]> => (await owner.query(`SELECT labels FROM conversations WHERE id = $1`, [id])).rows[0].labels;

  it('inserts, finds, updates and deletes within its workspace only', async () => {
    const id = uuidv7();
    const inserted = await db.run(a.workspaceId, (tx) => repo.insert(tx, { id, name: 'urgent', color: '#ff0000', description: null }));
    expect(inserted.createdAt).toBeInstanceOf(Date);
    expect(await db.run(b.workspaceId, (tx) => repo.findById(tx, id))).toBeNull();
    await db.run(a.workspaceId, (tx) => repo.update(tx, id, { color: '#00ff00' }));
    expect(await db.run(a.workspaceId, (tx) => repo.findByIdForUpdate(tx, id))).toMatchObject({ name: 'urgent', color: '#00ff00' });
    expect(await db.run(b.workspaceId, (tx) => repo.delete(tx, id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => repo.delete(tx, id))).toBe(true);
  });

  it('keeps names unique per workspace', async () => {
    await db.run(a.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name: 'dup', color: '#6b7280', description: null }));
    const error = await db.run(a.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name: 'dup', color: '#6b7280', description: null })).catch((e: unknown) => e);
    expect(uniqueViolation(error)).toBe('labels_workspace_id_name_key');
    await db.run(b.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name: 'dup', color: '#6b7280', description: null }));
  });

  it('renames a label on conversations without doubling it, and only in its workspace', async () => {
    const plain = await conversationWith(a.workspaceId, ['vip', 'billing']);
    const both = await conversationWith(a.workspaceId, ['vip', 'gold']);
    const untouched = await conversationWith(a.workspaceId, ['billing']);
    const foreign = await conversationWith(b.workspaceId, ['vip']);
    const renamed = await db.run(a.workspaceId, (tx) => repo.renameOnConversations(tx, 'vip', 'gold'));
    expect(renamed).toBe(2);
    expect(await labelsOf(plain)).toEqual(['gold', 'billing']);
    expect(await labelsOf(both)).toEqual(['gold']);
    expect(await labelsOf(untouched)).toEqual(['billing']);
    expect(await labelsOf(foreign)).toEqual(['vip']);
  });

  it('removes a label from conversations, only in its workspace', async () => {
    const mine = await conversationWith(a.workspaceId, ['spam', 'lead']);
    const foreign = await conversationWith(b.workspaceId, ['spam']);
    expect(await db.run(a.workspaceId, (tx) => repo.removeFromConversations(tx, 'spam'))).toBe(1);
    expect(await labelsOf(mine)).toEqual(['lead']);
    expect(await labelsOf(foreign)).toEqual(['spam']);
  });

  it('lists by name after a given (name, id)', async () => {
    const tenant = await seedTenant(await testConfig(), 'Labels list');
    for (const name of ['c', 'a', 'd', 'b']) {
      await db.run(tenant.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name, color: '#6b7280', description: null }));
    }
    const first = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, null, 2));
    expect(first.map((l) => l.name)).toEqual(['a', 'b']);
    const rest = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, { name: 'b', id: first[1]!.id }, 5));
    expect(rest.map((l) => l.name)).toEqual(['c', 'd']);
  });
});
