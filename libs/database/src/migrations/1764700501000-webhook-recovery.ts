import type { MigrationInterface, QueryRunner } from 'typeorm';
import { STALLED_EVENTS, STALLED_FALLBACK_CHECKS, STALLED_SENDS, STALLED_WEBHOOK_DELIVERIES, stalledFunction } from './outbox-stalled.js';

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
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS, STALLED_FALLBACK_CHECKS]));
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_pending_idx`);
    await q.query(`DROP INDEX IF EXISTS outbox_webhook_delivery_idx`);
  }
}
