import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether any enabled webhook endpoint of a workspace subscribes to an event type. An event is
 * written for fan-out (an `event.dispatch` outbox row) only when one does, in the same statement,
 * so a workspace without endpoints pays nothing for its events beyond the live publish.
 * Security invoker: row-level security still holds the caller to its own workspace.
 */
export class EventSubscriptions1764900000000 implements MigrationInterface {
  name = 'EventSubscriptions1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION ferry_event_subscribed(workspace uuid, event_type text) RETURNS boolean
      LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.workspace_id = workspace AND e.disabled_at IS NULL AND event_type = ANY(e.events))
      $$`);
    await q.query(`
      DO $$
      BEGIN
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_event_subscribed(uuid, text) TO %I', current_setting('ferry.app_role'));
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ferry_event_subscribed(uuid, text)`);
  }
}
