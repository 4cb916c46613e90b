import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ferry_event_subscribed, same answer, in PL/pgSQL. As a SQL function its EXISTS sublink keeps it from
 * being inlined, and a SQL function that is not inlined plans its body again on every statement
 * that calls it: most of the cost of the hot paths' event writes. PL/pgSQL keeps the plan per session.
 * Still security invoker: row-level security holds the caller to its own workspace.
 */
export class EventSubscribedPlpgsql1765000000000 implements MigrationInterface {
  name = 'EventSubscribedPlpgsql1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ferry_event_subscribed(workspace uuid, event_type text) RETURNS boolean
      LANGUAGE plpgsql STABLE AS $$
      BEGIN
        RETURN EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.workspace_id = workspace AND e.disabled_at IS NULL AND event_type = ANY(e.events));
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ferry_event_subscribed(workspace uuid, event_type text) RETURNS boolean
      LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.workspace_id = workspace AND e.disabled_at IS NULL AND event_type = ANY(e.events))
      $$`);
  }
}
