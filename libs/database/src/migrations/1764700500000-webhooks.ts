import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Integrator webhooks: endpoints (signing secrets sealed, the previous one kept for 24 h after a
 * rotation), one delivery per (endpoint, event) — the record of intent the `webhook.deliver` job works
 * from — and every attempt of it, for the delivery log. All under the tenant policy.
 */
export class Webhooks1764700500000 implements MigrationInterface {
  name = 'Webhooks1764700500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        url text NOT NULL,
        events text[] NOT NULL CHECK (cardinality(events) > 0),
        secret_sealed text NOT NULL,
        previous_secret_sealed text,
        previous_secret_expires_at timestamptz,
        failing_since timestamptz,
        disabled_at timestamptz,
        disabled_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_endpoints_list_idx ON webhook_endpoints (workspace_id, id)`);

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        body text NOT NULL,
        test boolean NOT NULL DEFAULT false,
        -- The delivery this one replays (same endpoint, so removed with it). No foreign key: a self-reference
        -- would make deleting an endpoint's many deliveries check every row against every other.
        replay_of uuid,
        status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
        attempt_count integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        claimed_until timestamptz,
        failure_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Fan-out is idempotent on (endpoint, event); a replay is a new delivery of the same event.
    await q.query(`
      CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (workspace_id, endpoint_id, event_id)
      WHERE replay_of IS NULL`);
    await q.query(`CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (workspace_id, endpoint_id, id)`);

    await q.query(`
      CREATE TABLE webhook_attempts (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        attempt integer NOT NULL CHECK (attempt > 0),
        attempted_at timestamptz NOT NULL,
        succeeded boolean NOT NULL,
        status_code integer,
        latency_ms integer NOT NULL,
        response_excerpt text,
        error text
      )`);
    await q.query(`CREATE UNIQUE INDEX webhook_attempts_key ON webhook_attempts (workspace_id, delivery_id, attempt)`);

    for (const table of ['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts']) {
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY tenant ON ${table} USING (workspace_id = ferry_workspace())`);
      await q.query(`
        DO $$ BEGIN
          EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO %I', current_setting('ferry.app_role'));
        END $$`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_attempts`);
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await q.query(`DROP TABLE IF EXISTS webhook_endpoints`);
  }
}
