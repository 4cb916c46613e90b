import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  STALLED_EVENT_JOBS,
  STALLED_EVENTS,
  STALLED_FALLBACK_CHECKS,
  STALLED_SENDS,
  STALLED_WEBHOOK_BATCHES,
  STALLED_WEBHOOK_DELIVERIES,
  stalledFunction,
} from './outbox-stalled.js';

/**
 * Inbound events are stored in batches (the hook commits the events of concurrent provider calls
 * together) and processed in batches: one `inbound.process` job names several events. Each event
 * keeps the id of the job (outbox row) that processes it, so a lost batch job is found from any of
 * its unprocessed events (events still pending from before get their job's id here).
 * ferry_outbox_stalled is redefined whole, with that branch in place of the one-event-per-job branch.
 */
export class InboundBatches1765200000000 implements MigrationInterface {
  name = 'InboundBatches1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbound_events ADD COLUMN job_id uuid`);
    await q.query(`
      UPDATE inbound_events e SET job_id = o.id FROM outbox o
      WHERE e.processed_at IS NULL AND o.workspace_id = e.workspace_id
        AND o.job_name IN ('inbound.process', 'status.apply') AND o.payload->>'eventId' = e.id::text`);
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENT_JOBS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES]));
    await q.query(`ALTER TABLE inbound_events DROP COLUMN IF EXISTS job_id`);
  }
}
