import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fallback: why the worker left an attempt's hop for the next identity; each workspace's default
 * fallback policy (an ordered list of channels); and the recovery of a lost deadline check
 * (`message.fallback_check`): its intent is pending while the hop it watches is still the message's
 * current one, sent, without a delivered receipt, well past its deadline.
 */
// The branches of ferry_outbox_stalled: the two of OutboxRecovery1764400002000, and the deadline checks.
const SENDS = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM messages m
   JOIN outbox o ON o.workspace_id = m.workspace_id AND o.job_name = 'message.send'
                AND o.payload->>'messageId' = m.id::text
   WHERE m.direction = 'out' AND m.status = 'queued'
     AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at LIMIT max_rows`;

const EVENTS = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM inbound_events e
   JOIN outbox o ON o.workspace_id = e.workspace_id AND o.job_name IN ('inbound.process', 'status.apply')
                AND o.payload->>'eventId' = e.id::text
   WHERE e.processed_at IS NULL AND e.error IS NULL
     AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at LIMIT max_rows`;

// A check is pending while its attempt is still the message's current hop, sent, not delivered.
// Driven from the checks' own partial index: the relay runs this often, over all workspaces.
const FALLBACK_CHECKS = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM outbox o
   JOIN messages m ON m.workspace_id = o.workspace_id AND m.id = (o.payload->>'messageId')::uuid
   JOIN delivery_attempts a ON a.workspace_id = o.workspace_id AND a.id = (o.payload->>'attemptId')::uuid
   WHERE o.job_name = 'message.fallback_check' AND o.published_at IS NOT NULL
     AND (o.payload->>'dueAt')::timestamptz < now() - older_than
     AND m.status = 'sent' AND a.provider_message_id = m.external_id
     AND a.identity_id IS NOT DISTINCT FROM m.identity_id
     AND a.receipt_status IS DISTINCT FROM 'delivered' AND a.receipt_status IS DISTINCT FROM 'read'
   ORDER BY o.created_at LIMIT max_rows`;

function stalledFunction(branches: string[]): string {
  return `CREATE OR REPLACE FUNCTION ferry_outbox_stalled(older_than interval, max_rows integer)
    RETURNS TABLE (id uuid, workspace_id uuid, job_name text, payload jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
    $$ ${branches.map((branch) => `(${branch})`).join(' UNION ALL ')} $$`;
}

export class Fallback1764500000000 implements MigrationInterface {
  name = 'Fallback1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN fallback_reason text`);

    await q.query(`
      CREATE TABLE workspace_settings (
        workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        fallback_channels text[] NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE workspace_settings ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE workspace_settings FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY tenant ON workspace_settings USING (workspace_id = ferry_workspace())`);
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON workspace_settings TO %I', current_setting('ferry.app_role'));
      END $$`);

    await q.query(`
      CREATE INDEX outbox_fallback_check_idx ON outbox (created_at) WHERE job_name = 'message.fallback_check'`);
    await q.query(stalledFunction([SENDS, EVENTS, FALLBACK_CHECKS]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([SENDS, EVENTS]));
    await q.query(`DROP INDEX IF EXISTS outbox_fallback_check_idx`);
    await q.query(`DROP TABLE IF EXISTS workspace_settings`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS fallback_reason`);
  }
}
