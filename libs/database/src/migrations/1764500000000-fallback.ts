import type { MigrationInterface, QueryRunner } from 'typeorm';
import { STALLED_EVENTS, STALLED_FALLBACK_CHECKS, STALLED_SENDS, stalledFunction } from './outbox-stalled.js';

/**
 * Fallback: why the worker left an attempt's hop for the next identity; each workspace's default
 * fallback policy (an ordered list of channels); and the recovery of a lost deadline check
 * (`message.fallback_check`): its intent is pending while the hop it watches is still the message's
 * current one, sent, without a delivered receipt, well past its deadline.
 */
export class Fallback1764500000000 implements MigrationInterface {
  name = 'Fallback1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN fallback_reason text`);

    await q.query(`
      CREATE TABLE workspace_settings (
        workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        fallback_channels text[] NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE workspace_settings ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE workspace_settings FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY tenant ON workspace_settings USING (workspace_id = ferry_workspace())`);
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON workspace_settings TO %I', current_setting('ferry.app_role'));
      END $$`);

    await q.query(`
      CREATE INDEX outbox_fallback_check_idx ON outbox (created_at) WHERE job_name = 'message.fallback_check'`);
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS, STALLED_FALLBACK_CHECKS]));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(stalledFunction([STALLED_SENDS, STALLED_EVENTS]));
    await q.query(`DROP INDEX IF EXISTS outbox_fallback_check_idx`);
    await q.query(`DROP TABLE IF EXISTS workspace_settings`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS fallback_reason`);
  }
}
