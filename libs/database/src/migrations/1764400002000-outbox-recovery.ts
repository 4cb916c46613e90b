import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recovery of jobs lost after they were published (a job that died in BullMQ after its last try
 * while Postgres could not record the outcome, or a Redis that came back empty): outbox rows whose
 * intent Postgres still shows as pending long after the row was written — a reply still queued, a
 * provider event still unprocessed and not given up on. The relay finds them across workspaces
 * through this one function.
 */
export class OutboxRecovery1764400002000 implements MigrationInterface {
  name = 'OutboxRecovery1764400002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX outbox_message_send_idx ON outbox (workspace_id, ((payload->>'messageId')))
      WHERE job_name = 'message.send'`);
    await q.query(`
      CREATE INDEX outbox_event_job_idx ON outbox (workspace_id, ((payload->>'eventId')))
      WHERE job_name IN ('inbound.process', 'status.apply')`);
    await q.query(`
      CREATE FUNCTION ferry_outbox_stalled(older_than interval, max_rows integer)
      RETURNS TABLE (id uuid, workspace_id uuid, job_name text, payload jsonb)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ (SELECT o.id, o.workspace_id, o.job_name, o.payload
          FROM messages m
          JOIN outbox o ON o.workspace_id = m.workspace_id AND o.job_name = 'message.send'
                       AND o.payload->>'messageId' = m.id::text
          WHERE m.direction = 'out' AND m.status = 'queued'
            AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
          ORDER BY o.created_at LIMIT max_rows)
         UNION ALL
         (SELECT o.id, o.workspace_id, o.job_name, o.payload
          FROM inbound_events e
          JOIN outbox o ON o.workspace_id = e.workspace_id AND o.job_name IN ('inbound.process', 'status.apply')
                       AND o.payload->>'eventId' = e.id::text
          WHERE e.processed_at IS NULL AND e.error IS NULL
            AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
          ORDER BY o.created_at LIMIT max_rows) $$`);
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_outbox_stalled(interval, integer) TO %I',
                       current_setting('ferry.app_role'));
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ferry_outbox_stalled(interval, integer)`);
    await q.query(`DROP INDEX IF EXISTS outbox_event_job_idx`);
    await q.query(`DROP INDEX IF EXISTS outbox_message_send_idx`);
  }
}
