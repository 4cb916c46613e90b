import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing (libs/billing): a workspace's Stripe customer and subscription state, the Stripe events
 * received (stored by Stripe's id, so a redelivery is a no-op), the usage counted (one row per
 * message sent) and the meter-event reports of it (the report's id is the Stripe identifier, chosen
 * before the call, so a report resent after a crash is never counted twice). Stripe events name a
 * customer, not a workspace: the hook finds the workspace through one SECURITY DEFINER function.
 */
export class Billing1764800000000 implements MigrationInterface {
  name = 'Billing1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE billing_accounts (
        workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        stripe_customer_id text UNIQUE,
        stripe_subscription_id text,
        stripe_subscription_item_id text,
        plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'team', 'business')),
        status text NOT NULL DEFAULT 'none',
        seats integer,
        current_period_end timestamptz,
        past_due_since timestamptz,
        seats_synced_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE stripe_events (
        id text PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        type text NOT NULL,
        created_at timestamptz NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE billing_usage (
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        message_id uuid NOT NULL,
        sent_at timestamptz NOT NULL DEFAULT now(),
        billable boolean NOT NULL,
        report_id uuid,
        PRIMARY KEY (workspace_id, message_id)
      )`);
    await q.query(`CREATE INDEX billing_usage_period_idx ON billing_usage (workspace_id, sent_at)`);
    await q.query(`CREATE INDEX billing_usage_unreported_idx ON billing_usage (workspace_id) WHERE billable AND report_id IS NULL`);
    await q.query(`
      CREATE TABLE billing_usage_reports (
        id uuid PRIMARY KEY,
        workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        stripe_customer_id text NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        reported_at timestamptz
      )`);
    await q.query(`CREATE INDEX billing_usage_reports_pending_idx ON billing_usage_reports (workspace_id) WHERE reported_at IS NULL`);
    for (const table of ['billing_accounts', 'stripe_events', 'billing_usage', 'billing_usage_reports']) {
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY tenant ON ${table} USING (workspace_id = ferry_workspace())`);
    }
    // The Stripe hook knows a customer id and nothing else (Ferry creates every customer before any
    // checkout): this is all it may learn before it sets the workspace.
    await q.query(`
      CREATE FUNCTION ferry_billing_route(customer text) RETURNS uuid
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT a.workspace_id FROM billing_accounts a WHERE a.stripe_customer_id = customer $$`);
    await q.query(`
      DO $$
      DECLARE app_role text := current_setting('ferry.app_role');
      BEGIN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON billing_accounts, stripe_events, billing_usage, billing_usage_reports TO %I', app_role);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ferry_billing_route(text) TO %I', app_role);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS ferry_billing_route(text)`);
    await q.query(`DROP TABLE IF EXISTS billing_usage_reports, billing_usage, stripe_events, billing_accounts`);
  }
}
