import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { mintInvitationToken } from '../tokens/api-key-token.js';
import { InvitationsRepository } from './invitations.repository.js';

describe('InvitationsRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const invitations = new InvitationsRepository();

  const invite = (tenant: SeededTenant, expiresInMs = 60_000) =>
    db.run(tenant.workspaceId, async (tx) => {
      const minted = mintInvitationToken(tenant.workspaceId);
      const row = await invitations.insert(tx, {
        email: 'invitee@example.test',
        role: 'agent',
        tokenHash: minted.hash,
        invitedBy: tenant.memberId,
        expiresAt: new Date(Date.now() + expiresInMs),
      });
      return { ...minted, row };
    });

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    a = await seedTenant(config, 'Invitations A');
    b = await seedTenant(config, 'Invitations B');
  });
  afterAll(async () => dataSource?.destroy());

  it('finds a pending invitation by hash in its workspace only', async () => {
    const { hash, row } = await invite(a);
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(await db.run(a.workspaceId, (tx) => invitations.lockPendingByHash(tx, hash))).toMatchObject({
      id: row.id,
      email: 'invitee@example.test',
      role: 'agent',
      invitedBy: a.memberId,
      acceptedAt: null,
    });
    expect(await db.run(b.workspaceId, (tx) => invitations.lockPendingByHash(tx, hash))).toBeNull();
  });

  it('no longer finds an accepted invitation', async () => {
    const { hash, row } = await invite(a);
    await db.run(b.workspaceId, (tx) => invitations.markAccepted(tx, row.id));
    expect(await db.run(a.workspaceId, (tx) => invitations.lockPendingByHash(tx, hash))).not.toBeNull();
    await db.run(a.workspaceId, (tx) => invitations.markAccepted(tx, row.id));
    expect(await db.run(a.workspaceId, (tx) => invitations.lockPendingByHash(tx, hash))).toBeNull();
  });

  it('does not find an expired invitation', async () => {
    const { hash } = await invite(a, -1000);
    expect(await db.run(a.workspaceId, (tx) => invitations.lockPendingByHash(tx, hash))).toBeNull();
  });
});
