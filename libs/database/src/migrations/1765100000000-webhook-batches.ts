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
 * The deliveries of one event travel in one `webhook.deliver_batch` job: each delivery row names the
 * job's outbox row (batch_id), so a lost batch job is revived like a lost single one while any of its
 * deliveries is still pending long after it was due. ferry_outbox_stalled is redefined whole, every
 * branch kept. ferry_uuidv7() lets the fan-out find its endpoints and write their deliveries in one statement.
 */
export class WebhookBatches1765100000000 implements MigrationInterface {
  name = 'WebhookBatches1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries ADD COLUMN batch_id uuid`);
    // A UUIDv7 made in the database (PostgreSQL 15 has none), for rows whose number only a statement
    // knows: the fan-out writes one delivery per subscribed endpoint in the statement that finds them.
    await q.query(`
      CREATE FUNCTION ferry_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
        SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
          PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
      $$`);
    await q.query(`
      DO $$
      BEGIN
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_uuidv7() TO %I', current_setting('ferry.app_role'));
      END $$`);
    await q.query(stalledFunction([STALLED_SENDS, await inboundBranch(q), STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([STALLED_SENDS, await inboundBranch(q), STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES]));
    await q.query(`DROP FUNCTION IF EXISTS ferry_uuidv7()`);
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN batch_id`);
  }
}

/**
 * The inbound branch as the database stands: this migration sorts before InboundBatches1765200000000
 * but may run after it (a database migrated before this one was merged), and must then keep its
 * batch branch (that migration in turn keeps this one's).
 */
async function inboundBranch(q: QueryRunner): Promise<string> {
  const rows: unknown[] = await q.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'inbound_events' AND column_name = 'job_id'`);
  return rows.length > 0 ? STALLED_EVENT_JOBS : STALLED_EVENTS;
}
