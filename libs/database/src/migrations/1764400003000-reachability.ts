import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reachability and templates: the index the send check reads (a WeChat identity's outbound messages
 * since the customer last wrote, failed ones excluded), and each inbox's message templates (synced
 * from the provider where it has an API for them, kept by hand otherwise), under the tenant policy.
 */
export class Reachability1764400003000 implements MigrationInterface {
  name = 'Reachability1764400003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX messages_identity_outbound_idx ON messages (workspace_id, identity_id, created_at)
      WHERE direction = 'out' AND status <> 'failed'`);

    await q.query(`
      CREATE TABLE message_templates (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        inbox_id uuid NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
        name text NOT NULL,
        language text NOT NULL,
        category text CHECK (category IN ('marketing', 'utility', 'authentication')),
        status text NOT NULL CHECK (status IN ('approved', 'pending', 'rejected')),
        body text NOT NULL,
        components jsonb NOT NULL DEFAULT '[]',
        parameter_count integer NOT NULL CHECK (parameter_count >= 0),
        source text NOT NULL CHECK (source IN ('provider', 'manual')),
        provider_template_id text,
        synced_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // A template is named by (name, language) within its inbox, at the provider as here.
    await q.query(`CREATE UNIQUE INDEX message_templates_name_key ON message_templates (workspace_id, inbox_id, name, language)`);
    await q.query(`CREATE INDEX message_templates_list_idx ON message_templates (workspace_id, inbox_id, name, id)`);
    await q.query(`ALTER TABLE message_templates ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE message_templates FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY tenant ON message_templates USING (workspace_id = ferry_workspace())`);
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON message_templates TO %I', current_setting('ferry.app_role'));
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS message_templates`);
    await q.query(`DROP INDEX IF EXISTS messages_identity_outbound_idx`);
  }
}
