import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { type MigrationDatabase, migrationDatabase, seedTenant } from '#testing';
import { WebhookTenantKeys1765600000000 } from './migrations/1765600000000-webhook-tenant-keys.js';

/** The foreign keys of the webhook tables, as `table: constraint definition`, sorted. */
async function foreignKeys(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ fk: string }>(
    `SELECT conrelid::regclass || ': ' || pg_get_constraintdef(oid) AS fk FROM pg_constraint
     WHERE contype = 'f' AND conrelid IN ('webhook_deliveries'::regclass, 'webhook_attempts'::regclass) ORDER BY 1`,
  );
  return rows.map((row) => row.fk);
}

/**
 * WebhookTenantKeys1765600000000 on a database of its own (cloned from the migrated template): what
 * the keys refuse and remove, and the migration taken down and up again.
 */
describe('WebhookTenantKeys1765600000000', () => {
  let db: MigrationDatabase;
  let config: FerryConfig;
  let owner: pg.Client;

  beforeAll(async () => {
    db = await migrationDatabase('webhook_keys');
    ({ config, owner } = db);
  });
  afterAll(async () => {
    await db?.close();
  });

  async function endpoint(workspaceId: string): Promise<string> {
    const id = uuidv7();
    await owner.query(`INSERT INTO webhook_endpoints (id, workspace_id, url, events, secret_sealed) VALUES ($1, $2, 'https://hooks.example.com/', '{contact.created}', 'x')`, [
      id,
      workspaceId,
    ]);
    return id;
  }

  async function delivery(workspaceId: string, endpointId: string): Promise<string> {
    const id = uuidv7();
    await owner.query(
      `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status) VALUES ($1, $2, $3, $4, 'contact.created', '{}', 'succeeded')`,
      [id, workspaceId, endpointId, uuidv7()],
    );
    await owner.query(`INSERT INTO webhook_attempts (id, workspace_id, delivery_id, attempt, attempted_at, succeeded, latency_ms) VALUES ($1, $2, $3, 1, now(), true, 5)`, [
      uuidv7(),
      workspaceId,
      id,
    ]);
    return id;
  }

  const count = async (table: string, workspaceId: string): Promise<number> =>
    (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE workspace_id = $1`, [workspaceId])).rows[0]!.n;

  it('refuses a delivery in a workspace other than its endpoint’s', async () => {
    const [a, b] = [await seedTenant(config, 'Keys A'), await seedTenant(config, 'Keys B')];
    const endpointOfA = await endpoint(a.workspaceId);
    await expect(delivery(b.workspaceId, endpointOfA)).rejects.toMatchObject({ code: '23503', constraint: 'webhook_deliveries_endpoint_fkey' });
    expect(await count('webhook_deliveries', b.workspaceId)).toBe(0);
  });

  it('removes deliveries and their attempts with their endpoint, and everything with the workspace', async () => {
    const { workspaceId } = await seedTenant(config, 'Keys C');
    const [kept, removed] = [await endpoint(workspaceId), await endpoint(workspaceId)];
    await delivery(workspaceId, kept);
    await delivery(workspaceId, removed);
    await owner.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [removed]);
    expect([await count('webhook_deliveries', workspaceId), await count('webhook_attempts', workspaceId)]).toEqual([1, 1]);
    await owner.query(`DELETE FROM workspaces WHERE id = $1`, [workspaceId]);
    expect([await count('webhook_endpoints', workspaceId), await count('webhook_deliveries', workspaceId), await count('webhook_attempts', workspaceId)]).toEqual([0, 0, 0]);
  });

  it('down restores the four keys and up brings back the two', async () => {
    const migration = new WebhookTenantKeys1765600000000();
    const run = (step: 'up' | 'down'): Promise<void> => db.run(migration, step);
    const now = await foreignKeys(owner);
    expect(now).toEqual([
      'webhook_deliveries: FOREIGN KEY (workspace_id, endpoint_id) REFERENCES webhook_endpoints(workspace_id, id) ON DELETE CASCADE',
      'webhook_attempts: FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries(id) ON DELETE CASCADE',
    ].sort());
    await run('down');
    expect(await foreignKeys(owner)).toEqual([
      'webhook_attempts: FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries(id) ON DELETE CASCADE',
      'webhook_attempts: FOREIGN KEY (workspace_id) REFERENCES workspaces(id) ON DELETE CASCADE',
      'webhook_deliveries: FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints(id) ON DELETE CASCADE',
      'webhook_deliveries: FOREIGN KEY (workspace_id) REFERENCES workspaces(id) ON DELETE CASCADE',
    ]);
    await run('up');
    expect(await foreignKeys(owner)).toEqual(now);
  });
});
