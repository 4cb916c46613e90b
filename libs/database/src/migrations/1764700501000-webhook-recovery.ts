import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lost `webhook.deliver` jobs are revived like lost sends: ferry_outbox_stalled also answers the
 * outbox rows of deliveries still pending long after their next try was due (a delivery waiting for
 * its scheduled retry is not stalled, whatever its age). The function is redefined whole: a later
 * redefinition must keep every branch.
 */
export class WebhookRecovery1764700501000 implements MigrationInterface {
  name = 'WebhookRecovery1764700501000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX outbox_webhook_delivery_idx ON outbox (workspace_id, ((payload->>'deliveryId')))
      WHERE job_name = 'webhook.deliver'`);
    await q.query(`CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (workspace_id, next_attempt_at) WHERE status = 'pending'`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ferry_outbox_stalled(older_than interval, max_rows integer)
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
          ORDER BY o.created_at LIMIT max_rows)
         UNION ALL
         (SELECT o.id, o.workspace_id, o.job_name, o.payload
          FROM webhook_deliveries d
          JOIN outbox o ON o.workspace_id = d.workspace_id AND o.job_name = 'webhook.deliver'
                       AND o.payload->>'deliveryId' = d.id::text
          WHERE d.status = 'pending' AND coalesce(d.next_attempt_at, d.created_at) < now() - older_than
            AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
          ORDER BY o.created_at LIMIT max_rows) $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ferry_outbox_stalled(older_than interval, max_rows integer)
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
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_pending_idx`);
    await q.query(`DROP INDEX IF EXISTS outbox_webhook_delivery_idx`);
  }
}
