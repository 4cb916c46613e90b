import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  PENDING_EVENT_JOBS,
  PENDING_FALLBACK_CHECKS,
  PENDING_SENDS,
  PENDING_WEBHOOK_BATCHES,
  PENDING_WEBHOOK_DELIVERIES,
  pruneFunction,
} from './outbox-stalled.js';

/**
 * Pruning of the outbox. Every job writes a row and none was ever deleted, so the table and its
 * indexes (several on payload expressions) grew without bound, slowing every insert and every scan
 * of the relay. ferry_outbox_prune deletes, in one small batch per call, published rows older than
 * the retention window whose work is not pending (the PENDING_* twins of ferry_outbox_stalled's
 * branches): SECURITY DEFINER like the relay's other functions, since the app role is held to one
 * workspace by row-level security and the prune works across all of them.
 *
 * No index of its own: outbox ids are UUIDv7 (time-ordered, from uuidv7() or ferry_uuidv7()), so the
 * rows older than the cutoff lie below the cutoff's least UUIDv7 in the primary key. The scan reads
 * that range from its start, and the rows written since (most of the table) are never read; an index
 * on created_at would cost every outbox insert for what the primary key already gives.
 */
export class OutboxPrune1765300000000 implements MigrationInterface {
  name = 'OutboxPrune1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(pruneFunction([PENDING_SENDS, PENDING_EVENT_JOBS, PENDING_FALLBACK_CHECKS, PENDING_WEBHOOK_DELIVERIES, PENDING_WEBHOOK_BATCHES]));
    // A SECURITY DEFINER function that deletes across workspaces: the app role may run it, nobody else.
    await q.query(`REVOKE ALL ON FUNCTION ferry_outbox_prune(interval, integer) FROM PUBLIC`);
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_outbox_prune(interval, integer) TO %I', current_setting('ferry.app_role'));
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ferry_outbox_prune(interval, integer)`);
  }
}
