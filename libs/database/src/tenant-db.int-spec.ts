import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { createAppDataSource } from './data-source.js';
import { TenantDb } from './tenant-db.js';

/** Row-level security, proven against the real application role. */
describe('TenantDb and row-level security', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  let tenantTables: string[];

  beforeAll(async () => {
    const config = await testConfig();
    a = await seedTenant(config, 'A');
    b = await seedTenant(config, 'B');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    const rows: Array<{ table_name: string }> = await dataSource.query(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'workspace_id'`,
    );
    // refresh_tokens is a user's credential, looked up by its hash before any workspace is known:
    // global by design, like users.
    tenantTables = rows.map((r) => r.table_name).filter((t) => t !== 'refresh_tokens').sort();
  });
  afterAll(async () => {
    await dataSource?.destroy();
  });

  it('connects as a role that is neither superuser nor able to bypass row-level security', async () => {
    const [role] = await dataSource.query(
      `SELECT rolsuper, rolbypassrls, current_user AS name FROM pg_roles WHERE rolname = current_user`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, name: 'ferry_app' });
  });

  it('guards every table that has a workspace_id with a forced policy', async () => {
    const rows: Array<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }> = await dataSource.query(
      `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1)`,
      [tenantTables],
    );
    expect(tenantTables.length).toBeGreaterThanOrEqual(14);
    for (const row of rows) expect(row, row.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it('returns nothing from any tenant table when no workspace is set', async () => {
    for (const table of [...tenantTables, 'workspaces']) {
      const [{ count }] = await dataSource.query(`SELECT count(*) FROM ${table}`);
      expect(count, table).toBe(0);
    }
  });

  it("returns only the set workspace's rows", async () => {
    const seen = await db.run(a.workspaceId, async ({ manager }) => ({
      workspaces: await manager.query('SELECT id FROM workspaces'),
      keys: await manager.query('SELECT workspace_id FROM api_keys'),
      members: await manager.query('SELECT workspace_id FROM members'),
    }));
    expect(seen.workspaces).toEqual([{ id: a.workspaceId }]);
    expect(seen.keys).toEqual([{ workspace_id: a.workspaceId }]);
    expect(seen.members).toEqual([{ workspace_id: a.workspaceId }]);
  });

  it("refuses to write a row into another workspace, and to read it back by id", async () => {
    await expect(
      db.run(a.workspaceId, ({ manager }) =>
        manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'stolen')`, [uuidv7(), b.workspaceId]),
      ),
    ).rejects.toThrow(/row-level security/);
    const labelOfB = uuidv7();
    await db.run(b.workspaceId, ({ manager }) =>
      manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'mine')`, [labelOfB, b.workspaceId]),
    );
    const fromA = await db.run(a.workspaceId, ({ manager }) => manager.query('SELECT id FROM labels WHERE id = $1', [labelOfB]));
    expect(fromA).toEqual([]);
    const updated = await db.run(a.workspaceId, ({ manager }) =>
      manager.query(`UPDATE labels SET name = 'taken' WHERE id = $1`, [labelOfB]),
    );
    expect(updated[1]).toBe(0);
  });

  it('scopes the workspace to the transaction: the next transaction on the same connection sees nothing', async () => {
    await db.run(a.workspaceId, async () => undefined);
    const [{ count }] = await dataSource.query('SELECT count(*) FROM api_keys');
    expect(count).toBe(0);
  });

  it('lets a user transaction see that user’s memberships in every workspace, and no one else’s', async () => {
    const mine = await db.asUser(a.userId, ({ manager }) => manager.query('SELECT user_id FROM members'));
    expect(mine).toEqual([{ user_id: a.userId }]);
  });

  it('runs after-commit effects only when the transaction commits', async () => {
    const effects: string[] = [];
    await db.run(a.workspaceId, async (tx) => tx.afterCommit(async () => void effects.push('committed')));
    await expect(
      db.run(a.workspaceId, async (tx) => {
        tx.afterCommit(async () => void effects.push('rolled back'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(effects).toEqual(['committed']);
  });
});
