import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inbound delivery: the raw provider events (stored before anything else happens, keyed by the
 * provider's own id so a redelivery is a no-op), the inbox routing function the public hook needs,
 * and the columns inbound and status processing write (reply tokens, unsubscribes, email threading,
 * attachments, receipts on delivery attempts).
 */
export class InboundEvents1764400000000 implements MigrationInterface {
  name = 'InboundEvents1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inbound_events (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        inbox_id uuid NOT NULL REFERENCES inboxes(id),
        provider_event_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('message', 'status', 'contact')),
        event jsonb NOT NULL,
        raw text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        error text,
        UNIQUE (workspace_id, inbox_id, provider_event_id)
      )`);
    // Events not processed (yet, or for good with an error): what an operator looks at and replays.
    await q.query(`CREATE INDEX inbound_events_pending_idx ON inbound_events (workspace_id, received_at) WHERE processed_at IS NULL`);
    await q.query(`ALTER TABLE inbound_events ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE inbound_events FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY tenant ON inbound_events USING (workspace_id = ferry_workspace())`);

    // LINE's reply token (free, single use, short-lived), and WeChat/LINE unfollows.
    await q.query(`
      ALTER TABLE contact_identities
        ADD COLUMN reply_token text,
        ADD COLUMN reply_token_expires_at timestamptz,
        ADD COLUMN unsubscribed_at timestamptz`);
    // Email threading: the Message-ID of each mail in or out, looked up by In-Reply-To and References.
    await q.query(`
      ALTER TABLE messages
        ADD COLUMN email_message_id text,
        ADD COLUMN email_subject text,
        ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`
      CREATE INDEX messages_email_thread_idx ON messages (workspace_id, email_message_id) WHERE email_message_id IS NOT NULL`);
    await q.query(`
      ALTER TABLE delivery_attempts
        ADD COLUMN receipt_status text,
        ADD COLUMN receipt_at timestamptz`);

    // The hook learns the workspace from the inbox before it can set it: this is all it may see.
    await q.query(`
      CREATE FUNCTION ferry_inbox_route(inbox uuid) RETURNS TABLE (workspace_id uuid, channel text)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT i.workspace_id, i.channel FROM inboxes i WHERE i.id = inbox AND i.deleted_at IS NULL $$`);
    // Ferry's SMTP listener knows only the recipient address. Two workspaces may claim the same address:
    // the inbox that claimed it first keeps it, so a later claim cannot divert another workspace's mail.
    await q.query(`
      CREATE FUNCTION ferry_email_inbox_route(address text) RETURNS TABLE (inbox_id uuid, workspace_id uuid)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT i.id, i.workspace_id FROM inboxes i
         WHERE i.channel = 'email' AND i.deleted_at IS NULL AND lower(i.config->>'inboundAddress') = lower(address)
         ORDER BY i.created_at, i.id LIMIT 1 $$`);
    await q.query(`
      CREATE INDEX inboxes_inbound_address_idx ON inboxes (lower(config->>'inboundAddress'))
      WHERE channel = 'email' AND deleted_at IS NULL`);

    await q.query(`
      DO $$
      DECLARE app_role text := current_setting('ferry.app_role');
      BEGIN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON inbound_events TO %I', app_role);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_inbox_route(uuid) TO %I', app_role);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_email_inbox_route(text) TO %I', app_role);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS inboxes_inbound_address_idx`);
    await q.query(`DROP FUNCTION IF EXISTS ferry_inbox_route(uuid), ferry_email_inbox_route(text)`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS receipt_status, DROP COLUMN IF EXISTS receipt_at`);
    await q.query(`DROP INDEX IF EXISTS messages_email_thread_idx`);
    await q.query(`
      ALTER TABLE messages DROP COLUMN IF EXISTS email_message_id, DROP COLUMN IF EXISTS email_subject, DROP COLUMN IF EXISTS attachments`);
    await q.query(`
      ALTER TABLE contact_identities
        DROP COLUMN IF EXISTS reply_token, DROP COLUMN IF EXISTS reply_token_expires_at, DROP COLUMN IF EXISTS unsubscribed_at`);
    await q.query(`DROP TABLE IF EXISTS inbound_events`);
  }
}
