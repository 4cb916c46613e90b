import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The foundation schema. Every tenant-owned table carries workspace_id, leads its indexes with it,
 * and is guarded by a row-level-security policy keyed on the transaction-local setting
 * app.workspace_id. The application connects as a role (current_setting('ferry.app_role'), set by
 * the migration runner) that owns nothing and cannot bypass the policies.
 */
const TENANT_TABLES = [
  'api_keys',
  'invitations',
  'teams',
  'team_members',
  'labels',
  'canned_responses',
  'inboxes',
  'contacts',
  'contact_identities',
  'conversations',
  'messages',
  'delivery_attempts',
  'outbox',
  'idempotency_keys',
];

export class Foundation1764320000000 implements MigrationInterface {
  name = 'Foundation1764320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`CREATE EXTENSION IF NOT EXISTS btree_gin`);
    await q.query(`
      CREATE FUNCTION ferry_workspace() RETURNS uuid LANGUAGE sql STABLE AS
      $$ SELECT NULLIF(current_setting('app.workspace_id', true), '')::uuid $$`);
    await q.query(`
      CREATE FUNCTION ferry_user() RETURNS uuid LANGUAGE sql STABLE AS
      $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$`);

    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        name text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);

    await q.query(`
      CREATE TABLE workspaces (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE members (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
        languages text[] NOT NULL DEFAULT '{}',
        capacity integer NOT NULL DEFAULT 10 CHECK (capacity >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, user_id)
      )`);
    await q.query(`CREATE INDEX members_user_idx ON members (user_id)`);

    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        family_id uuid NOT NULL,
        token_hash text NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL,
        created_by uuid REFERENCES members(id) ON DELETE SET NULL,
        last_used_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, key_hash)
      )`);

    await q.query(`
      CREATE TABLE invitations (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        email text NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
        token_hash text NOT NULL,
        invited_by uuid REFERENCES members(id) ON DELETE SET NULL,
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, token_hash)
      )`);

    await q.query(`
      CREATE TABLE teams (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name text NOT NULL,
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX teams_name_key ON teams (workspace_id, lower(name))`);
    await q.query(`
      CREATE TABLE team_members (
        workspace_id uuid NOT NULL,
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        member_id uuid NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        PRIMARY KEY (workspace_id, team_id, member_id)
      )`);

    await q.query(`
      CREATE TABLE labels (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name text NOT NULL,
        color text NOT NULL DEFAULT '#6b7280',
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, name)
      )`);

    await q.query(`
      CREATE TABLE canned_responses (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        short_code text NOT NULL,
        content text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, short_code)
      )`);

    await q.query(`
      CREATE TABLE inboxes (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name text NOT NULL,
        channel text NOT NULL,
        config jsonb NOT NULL DEFAULT '{}',
        secrets text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX inboxes_list_idx ON inboxes (workspace_id, id) WHERE deleted_at IS NULL`);

    await q.query(`
      CREATE TABLE contacts (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        name text,
        email text,
        phone text,
        language text,
        timezone text,
        country text,
        custom_attributes jsonb NOT NULL DEFAULT '{}',
        search_text text GENERATED ALWAYS AS (
          coalesce(name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')) STORED,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX contacts_list_idx ON contacts (workspace_id, id DESC) WHERE deleted_at IS NULL`);
    await q.query(`CREATE UNIQUE INDEX contacts_email_key ON contacts (workspace_id, lower(email)) WHERE deleted_at IS NULL`);
    await q.query(`CREATE UNIQUE INDEX contacts_phone_key ON contacts (workspace_id, phone) WHERE deleted_at IS NULL`);
    await q.query(`CREATE INDEX contacts_search_idx ON contacts USING gin (workspace_id, search_text gin_trgm_ops)`);

    await q.query(`
      CREATE TABLE contact_identities (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL,
        contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        inbox_id uuid NOT NULL REFERENCES inboxes(id),
        channel text NOT NULL,
        external_id text NOT NULL,
        display_name text,
        last_inbound_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, inbox_id, external_id)
      )`);
    await q.query(`CREATE INDEX contact_identities_contact_idx ON contact_identities (workspace_id, contact_id)`);

    await q.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
        assignee_id uuid REFERENCES members(id) ON DELETE SET NULL,
        team_id uuid REFERENCES teams(id) ON DELETE SET NULL,
        priority text NOT NULL DEFAULT 'none' CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent')),
        labels text[] NOT NULL DEFAULT '{}',
        snoozed_until timestamptz,
        last_inbox_id uuid REFERENCES inboxes(id),
        last_activity_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz
      )`);
    // One open thread per customer relationship: every state but resolved counts as open.
    await q.query(`
      CREATE UNIQUE INDEX conversations_one_open_per_contact ON conversations (workspace_id, contact_id)
      WHERE status <> 'resolved'`);
    await q.query(`CREATE INDEX conversations_list_idx ON conversations (workspace_id, last_activity_at DESC, id DESC)`);
    await q.query(`
      CREATE INDEX conversations_status_idx ON conversations (workspace_id, status, last_activity_at DESC, id DESC)`);
    await q.query(`
      CREATE INDEX conversations_assignee_idx ON conversations (workspace_id, assignee_id, last_activity_at DESC, id DESC)`);
    await q.query(`CREATE INDEX conversations_team_idx ON conversations (workspace_id, team_id, last_activity_at DESC, id DESC)`);
    await q.query(`CREATE INDEX conversations_contact_idx ON conversations (workspace_id, contact_id)`);
    await q.query(`CREATE INDEX conversations_labels_idx ON conversations USING gin (workspace_id, labels)`);

    await q.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        direction text NOT NULL CHECK (direction IN ('in', 'out', 'note')),
        type text NOT NULL DEFAULT 'text',
        body text NOT NULL DEFAULT '',
        template jsonb,
        status text NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
        identity_id uuid REFERENCES contact_identities(id) ON DELETE SET NULL,
        inbox_id uuid REFERENCES inboxes(id),
        sender_member_id uuid REFERENCES members(id) ON DELETE SET NULL,
        external_id text,
        fallback uuid[] NOT NULL DEFAULT '{}',
        error_code text,
        error_reason text,
        search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX messages_conversation_idx ON messages (workspace_id, conversation_id, id)`);
    await q.query(`
      CREATE UNIQUE INDEX messages_external_key ON messages (workspace_id, inbox_id, external_id)
      WHERE external_id IS NOT NULL`);
    await q.query(`CREATE INDEX messages_search_idx ON messages USING gin (workspace_id, search_vector)`);
    await q.query(`CREATE INDEX messages_body_trgm_idx ON messages USING gin (workspace_id, body gin_trgm_ops)`);

    await q.query(`
      CREATE TABLE delivery_attempts (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL,
        message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        identity_id uuid REFERENCES contact_identities(id) ON DELETE SET NULL,
        inbox_id uuid REFERENCES inboxes(id),
        channel text NOT NULL,
        status text NOT NULL,
        provider_request_id text,
        response_code text,
        error_code text,
        error text,
        latency_ms integer,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX delivery_attempts_message_idx ON delivery_attempts (workspace_id, message_id, created_at)`);

    await q.query(`
      CREATE TABLE outbox (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        job_name text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_pending_idx ON outbox (workspace_id, created_at) WHERE published_at IS NULL`);
    await q.query(`CREATE INDEX outbox_relay_idx ON outbox (created_at) WHERE published_at IS NULL`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        key text NOT NULL,
        request_hash text NOT NULL,
        status_code integer,
        response jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, key)
      )`);

    // Row-level security. FORCE applies the policies to the table owner too.
    await q.query(`ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE workspaces FORCE ROW LEVEL SECURITY`);
    // A user also sees the workspaces they belong to (names for login, switch and /me), nothing more.
    await q.query(`
      CREATE POLICY tenant ON workspaces
      USING (id = ferry_workspace() OR id IN (SELECT m.workspace_id FROM members m WHERE m.user_id = ferry_user()))
      WITH CHECK (id = ferry_workspace())`);
    await q.query(`ALTER TABLE members ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE members FORCE ROW LEVEL SECURITY`);
    // A user sees their own memberships in every workspace (to log in and to switch), nothing more.
    await q.query(`
      CREATE POLICY tenant ON members
      USING (workspace_id = ferry_workspace() OR user_id = ferry_user())
      WITH CHECK (workspace_id = ferry_workspace())`);
    for (const table of TENANT_TABLES) {
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY tenant ON ${table} USING (workspace_id = ferry_workspace())`);
    }

    // The outbox relay works across workspaces; it gets exactly these two operations and no more.
    await q.query(`
      CREATE FUNCTION ferry_outbox_pending(older_than interval, max_rows integer)
      RETURNS TABLE (id uuid, workspace_id uuid, job_name text, payload jsonb)
      LANGUAGE sql SECURITY DEFINER SET search_path = public AS
      $$ SELECT o.id, o.workspace_id, o.job_name, o.payload FROM outbox o
         WHERE o.published_at IS NULL AND o.created_at < now() - older_than
         ORDER BY o.created_at LIMIT max_rows $$`);
    await q.query(`
      CREATE FUNCTION ferry_outbox_mark_published(ids uuid[]) RETURNS void
      LANGUAGE sql SECURITY DEFINER SET search_path = public AS
      $$ UPDATE outbox SET published_at = now() WHERE id = ANY(ids) AND published_at IS NULL $$`);

    await q.query(`
      DO $$
      DECLARE app_role text := current_setting('ferry.app_role');
      BEGIN
        BEGIN
          EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS', app_role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL; -- created already, by an earlier database or by the operator (with a password)
        END;
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app_role);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', app_role);
        EXECUTE format('REVOKE ALL ON migrations FROM %I', app_role);
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %I', app_role);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [...TENANT_TABLES].reverse()) await q.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    for (const table of ['refresh_tokens', 'members', 'workspaces', 'users']) {
      await q.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    }
    await q.query(`DROP FUNCTION IF EXISTS ferry_outbox_pending, ferry_outbox_mark_published, ferry_workspace, ferry_user`);
  }
}
