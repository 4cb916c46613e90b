import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { mintRefreshToken } from '../tokens/refresh-token.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';

describe('RefreshTokensRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const tokens = new RefreshTokensRepository();

  const insert = (tenant: SeededTenant, familyId: string) =>
    db.global(async (manager) => {
      const minted = mintRefreshToken();
      const row = await tokens.insert({ manager }, {
        userId: tenant.userId,
        workspaceId: tenant.workspaceId,
        familyId,
        tokenHash: minted.hash,
        expiresAt: new Date(Date.now() + 60_000),
      });
      return { ...minted, row };
    });
  const find = (hash: string) => db.global((manager) => tokens.findByHash({ manager }, hash));

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    a = await seedTenant(config, 'Refresh A');
    b = await seedTenant(config, 'Refresh B');
  });
  afterAll(async () => dataSource?.destroy());

  it('stores the hash and finds the row by it, locked or not', async () => {
    const { hash, row } = await insert(a, uuidv7());
    expect(await find(hash)).toMatchObject({ id: row.id, userId: a.userId, workspaceId: a.workspaceId, usedAt: null, revokedAt: null });
    expect(await db.global((manager) => tokens.lockByHash({ manager }, hash))).toMatchObject({ id: row.id });
    expect(await find('0'.repeat(64))).toBeNull();
  });

  it('marks a token used once', async () => {
    const { hash, row } = await insert(a, uuidv7());
    await db.global((manager) => tokens.markUsed({ manager }, row.id));
    const usedAt = (await find(hash))?.usedAt;
    expect(usedAt).toBeInstanceOf(Date);
    await db.global((manager) => tokens.markUsed({ manager }, row.id));
    expect((await find(hash))?.usedAt).toEqual(usedAt);
  });

  it('revokes a whole family and nothing else', async () => {
    const family = uuidv7();
    const first = await insert(a, family);
    const second = await insert(a, family);
    const other = await insert(a, uuidv7());
    await db.global((manager) => tokens.revokeFamily({ manager }, family));
    expect((await find(first.hash))?.revokedAt).toBeInstanceOf(Date);
    expect((await find(second.hash))?.revokedAt).toBeInstanceOf(Date);
    expect((await find(other.hash))?.revokedAt).toBeNull();
  });

  it('revokes a user\'s tokens in the transaction\'s workspace only', async () => {
    const inA = await insert(a, uuidv7());
    const inB = await db.global(async (manager) => {
      const minted = mintRefreshToken();
      await tokens.insert({ manager }, { userId: a.userId, workspaceId: b.workspaceId, familyId: uuidv7(), tokenHash: minted.hash, expiresAt: new Date(Date.now() + 60_000) });
      return minted;
    });
    const revoked = await db.run(a.workspaceId, (tx) => tokens.revokeForUserInWorkspace(tx, a.userId));
    expect(revoked).toBeGreaterThanOrEqual(1);
    expect((await find(inA.hash))?.revokedAt).toBeInstanceOf(Date);
    expect((await find(inB.hash))?.revokedAt).toBeNull();
  });
});
