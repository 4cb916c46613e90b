import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { hashToken, mintApiKey } from '../tokens/api-key-token.js';
import { ApiKeysRepository } from './api-keys.repository.js';

describe('ApiKeysRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const apiKeys = new ApiKeysRepository();

  const create = (tenant: SeededTenant, name: string) =>
    db.run(tenant.workspaceId, async (tx) => {
      const minted = mintApiKey(tenant.workspaceId);
      const row = await apiKeys.insert(tx, { name, prefix: minted.prefix, keyHash: minted.hash, createdBy: tenant.memberId });
      return { ...minted, row };
    });

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    a = await seedTenant(config, 'Keys A');
    b = await seedTenant(config, 'Keys B');
  });
  afterAll(async () => dataSource?.destroy());

  it('finds an active key by hash and id in its workspace only', async () => {
    const { hash, row } = await create(a, 'CRM');
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(await db.run(a.workspaceId, (tx) => apiKeys.findActiveByHash(tx, hash))).toMatchObject({ id: row.id, name: 'CRM' });
    expect(await db.run(a.workspaceId, (tx) => apiKeys.findActiveById(tx, row.id))).toMatchObject({ keyHash: hash });
    expect(await db.run(b.workspaceId, (tx) => apiKeys.findActiveByHash(tx, hash))).toBeNull();
    expect(await db.run(b.workspaceId, (tx) => apiKeys.findActiveById(tx, row.id))).toBeNull();
  });

  it('records last use at most once a minute', async () => {
    const { row } = await create(a, 'Busy');
    await db.run(a.workspaceId, (tx) => apiKeys.touchLastUsed(tx, row.id));
    const first = (await db.run(a.workspaceId, (tx) => apiKeys.findActiveById(tx, row.id)))?.lastUsedAt;
    expect(first).toBeInstanceOf(Date);
    await db.run(a.workspaceId, (tx) => apiKeys.touchLastUsed(tx, row.id));
    expect((await db.run(a.workspaceId, (tx) => apiKeys.findActiveById(tx, row.id)))?.lastUsedAt).toEqual(first);
  });

  it('revokes a key once, in its workspace only, and hides it from lookups and lists', async () => {
    const { hash, row } = await create(a, 'Leaked');
    expect(await db.run(b.workspaceId, (tx) => apiKeys.revoke(tx, row.id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => apiKeys.revoke(tx, row.id))).toBe(true);
    expect(await db.run(a.workspaceId, (tx) => apiKeys.revoke(tx, row.id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => apiKeys.findActiveByHash(tx, hash))).toBeNull();
    const listed = await db.run(a.workspaceId, (tx) => apiKeys.listActivePage(tx, null, 100));
    expect(listed.map((key) => key.id)).not.toContain(row.id);
  });

  it('pages the active keys by id', async () => {
    const tenant = await seedTenant(await testConfig(), 'Keys paged');
    const created = [await create(tenant, 'k1'), await create(tenant, 'k2')];
    const first = await db.run(tenant.workspaceId, (tx) => apiKeys.listActivePage(tx, null, 2));
    expect(first.map((key) => key.name)).toEqual(['test', 'k1']);
    const rest = await db.run(tenant.workspaceId, (tx) => apiKeys.listActivePage(tx, first[1]!.id, 2));
    expect(rest.map((key) => key.id)).toEqual([created[1]!.row.id]);
    expect(rest[0]!.keyHash).toBe(hashToken(created[1]!.key));
  });
});
