import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  PENDING_EVENT_JOBS,
  PENDING_FALLBACK_CHECKS,
  PENDING_FALLBACK_CHECKS_UNDECIDED,
  PENDING_SENDS,
  PENDING_WEBHOOK_BATCHES,
  PENDING_WEBHOOK_DELIVERIES,
  pruneFunction,
  STALLED_EVENT_JOBS,
  STALLED_FALLBACK_CHECKS,
  STALLED_FALLBACK_CHECKS_UNDECIDED,
  STALLED_SENDS,
  STALLED_WEBHOOK_BATCHES,
  STALLED_WEBHOOK_DELIVERIES,
  stalledFunction,
} from './outbox-stalled.js';

/**
 * A delivery deadline check (`message.fallback_check`) that ran and found nowhere to go left the
 * message as it was, so ferry_outbox_stalled kept finding it: the relay ran it again every minute,
 * for good, and the first max_rows of such checks (oldest first) hid any check truly lost after
 * them, whose fallback then never happened. The check now records its decision on the attempt it
 * watches (fallback_checked_at, in the decision's transaction), and both functions are redefined
 * whole with fallback branches that leave decided checks out; the prune's twin loses its bound in
 * time, which only served to drop such checks.
 *
 * Checks that ran before this: Postgres cannot tell one that ran and stayed from one whose job was
 * lost (both leave the message sent on that hop, undelivered), and BullMQ's record is not for a
 * migration to read. A check whose deadline passed more than a week ago (the default
 * OUTBOX_RETENTION_MS, past which the previous prune already deleted its row as done) is recorded as
 * decided at its deadline: a hop that much later would send a stale message. Those within the week
 * are left undecided: the relay runs each once more (max_rows a minute, oldest first), and that run
 * records its decision, so a lost one still gets its fallback, late, and one that stayed decides
 * again (it goes on if an identity of its route can take the message now, as the old relay's runs
 * already did for the first max_rows).
 */
export class FallbackChecked1765500000000 implements MigrationInterface {
  name = 'FallbackChecked1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN fallback_checked_at timestamptz`);
    await q.query(`
      UPDATE delivery_attempts a SET fallback_checked_at = (o.payload->>'dueAt')::timestamptz
      FROM outbox o
      JOIN messages m ON m.workspace_id = o.workspace_id AND m.id = (o.payload->>'messageId')::uuid
      WHERE o.job_name = 'message.fallback_check' AND o.published_at IS NOT NULL
        AND a.workspace_id = o.workspace_id AND a.id = (o.payload->>'attemptId')::uuid
        AND (o.payload->>'dueAt')::timestamptz < now() - interval '7 days'
        AND m.status = 'sent' AND a.provider_message_id = m.external_id
        AND a.identity_id IS NOT DISTINCT FROM m.identity_id
        AND a.receipt_status IS DISTINCT FROM 'delivered' AND a.receipt_status IS DISTINCT FROM 'read'`);
    await q.query(
      stalledFunction([STALLED_SENDS, STALLED_EVENT_JOBS, STALLED_FALLBACK_CHECKS_UNDECIDED, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES]),
    );
    await q.query(pruneFunction([PENDING_SENDS, PENDING_EVENT_JOBS, PENDING_FALLBACK_CHECKS_UNDECIDED, PENDING_WEBHOOK_DELIVERIES, PENDING_WEBHOOK_BATCHES]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENT_JOBS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES]));
    await q.query(pruneFunction([PENDING_SENDS, PENDING_EVENT_JOBS, PENDING_FALLBACK_CHECKS, PENDING_WEBHOOK_DELIVERIES, PENDING_WEBHOOK_BATCHES]));
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS fallback_checked_at`);
  }
}
