import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A delivery referenced its workspace and its endpoint by two foreign keys, and an attempt its
 * workspace and its delivery by two more: four referential checks for each delivery a fan-out
 * writes, each a query of its own inside the insert. They were most of that insert's cost (a
 * first try answered 2xx writes a delivery and its attempt together).
 *
 * Now a delivery references its endpoint within its workspace, (workspace_id, endpoint_id), in one
 * check that also holds the delivery to its endpoint's workspace, which the two keys did not. An
 * attempt keeps only its delivery: its workspace is its delivery's (row-level security checks the
 * one it is written with), and deleting a workspace still removes everything, through endpoints,
 * deliveries, then attempts. The unique (workspace_id, id) index the new key needs replaces the
 * endpoint list's plain index on the same columns.
 */
export class WebhookTenantKeys1765600000000 implements MigrationInterface {
  name = 'WebhookTenantKeys1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNIQUE INDEX webhook_endpoints_workspace_key ON webhook_endpoints (workspace_id, id)`);
    await q.query(`DROP INDEX webhook_endpoints_list_idx`);
    await q.query(`
      ALTER TABLE webhook_deliveries
        DROP CONSTRAINT webhook_deliveries_workspace_id_fkey,
        DROP CONSTRAINT webhook_deliveries_endpoint_id_fkey,
        ADD CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (workspace_id, endpoint_id)
          REFERENCES webhook_endpoints (workspace_id, id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_workspace_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE webhook_attempts
        ADD CONSTRAINT webhook_attempts_workspace_id_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE`);
    await q.query(`
      ALTER TABLE webhook_deliveries
        DROP CONSTRAINT webhook_deliveries_endpoint_fkey,
        ADD CONSTRAINT webhook_deliveries_workspace_id_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
        ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE`);
    await q.query(`CREATE INDEX webhook_endpoints_list_idx ON webhook_endpoints (workspace_id, id)`);
    await q.query(`DROP INDEX webhook_endpoints_workspace_key`);
  }
}
