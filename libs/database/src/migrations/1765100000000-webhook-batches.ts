import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  STALLED_EVENTS,
  STALLED_FALLBACK_CHECKS,
  STALLED_SENDS,
  STALLED_WEBHOOK_BATCHES,
  STALLED_WEBHOOK_DELIVERIES,
  stalledFunction,
} from './outbox-stalled.js';

/**
 * The deliveries of one event travel in one `webhook.deliver_batch` job: each delivery row names the
 * job's outbox row (batch_id), so a lost batch job is revived like a lost single one while any of its
 * deliveries is still pending long after it was due. ferry_outbox_stalled is redefined whole, every
 * branch kept.
 */
export class WebhookBatches1765100000000 implements MigrationInterface {
  name = 'WebhookBatches1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries ADD COLUMN batch_id uuid`);
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES]));
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN batch_id`);
  }
}
