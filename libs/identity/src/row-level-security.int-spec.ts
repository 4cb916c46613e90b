import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { InvitationsRepository } from './invitations/invitations.repository.js';
import { mintInvitationToken } from './tokens/api-key-token.js';

/**
 * The second wall: even a query that forgets its workspace filter sees only the workspace set on
 * the transaction, and nothing at all when none is set. Runs on the app role's connection.
 */
describe('row-level security on identity tables', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;

  const countIn = async (workspaceId: string | null, table: string, ofWorkspace: string): Promise<number> => {
    const sql = `SELECT count(*)::int AS n FROM ${table} WHERE workspace_id = $1`;
    if (workspaceId === null) {
      const rows: Array<{ n: number }> = await dataSource.query(sql, [ofWorkspace]);
      return rows[0]!.n;
    }
    return db.run(workspaceId, async (tx) => ((await tx.manager.query(sql, [ofWorkspace])) as Array<{ n: number }>)[0]!.n);
  };

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    a = await seedTenant(config, 'RLS A');
    b = await seedTenant(config, 'RLS B');
    for (const tenant of [a, b]) {
      await db.run(tenant.workspaceId, (tx) =>
        new InvitationsRepository().insert(tx, {
          email: 'someone@example.test',
          role: 'agent',
          tokenHash: mintInvitationToken(tenant.workspaceId).hash,
          invitedBy: tenant.memberId,
          expiresAt: new Date(Date.now() + 60_000),
        }),
      );
    }
  });
  afterAll(async () => dataSource?.destroy());

  it('connects as a role that is held to the policies', async () => {
    const rows: Array<{ rolbypassrls: boolean; rolsuper: boolean }> = await dataSource.query(
      `SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user`,
    );
    expect(rows).toEqual([{ rolbypassrls: false, rolsuper: false }]);
  });

  it.each(['members', 'api_keys', 'invitations'])('%s: the workspace itself sees its rows', async (table) => {
    expect(await countIn(a.workspaceId, table, a.workspaceId)).toBeGreaterThan(0);
  });

  it.each(['members', 'api_keys', 'invitations'])('%s: no workspace set sees nothing', async (table) => {
    expect(await countIn(null, table, a.workspaceId)).toBe(0);
    const all: Array<{ n: number }> = await dataSource.query(`SELECT count(*)::int AS n FROM ${table}`);
    expect(all[0]!.n).toBe(0);
  });

  it.each(['members', 'api_keys', 'invitations'])("%s: another workspace sees nothing of the first's", async (table) => {
    expect(await countIn(b.workspaceId, table, a.workspaceId)).toBe(0);
    expect(await countIn(b.workspaceId, table, b.workspaceId)).toBeGreaterThan(0);
  });

  it('workspaces: a user sees only the workspaces they belong to; without a user or workspace, none', async () => {
    const names = await db.asUser(a.userId, async (tx) =>
      ((await tx.manager.query(`SELECT name FROM workspaces`)) as Array<{ name: string }>).map((row) => row.name),
    );
    expect(names).toEqual(['RLS A']);
    expect(await dataSource.query(`SELECT id FROM workspaces`)).toEqual([]);
  });

  it('writes into another workspace, or without one, are refused', async () => {
    await expect(
      db.run(b.workspaceId, (tx) =>
        tx.manager.query(`INSERT INTO members (id, workspace_id, user_id, role) VALUES (gen_random_uuid(), $1, $2, 'owner')`, [
          a.workspaceId,
          b.userId,
        ]),
      ),
    ).rejects.toThrow(/row-level security/);
    // A user sees their workspaces' names before choosing one, but cannot write them that way.
    await expect(db.asUser(a.userId, (tx) => tx.manager.query(`UPDATE workspaces SET name = 'renamed'`))).rejects.toThrow(
      /row-level security/,
    );
  });
});
