import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound delivery: the provider's message id on each attempt (a fallback hop has its own, and a
 * receipt finds its attempt by it), and the index the per-conversation order check reads on every
 * send (the earlier messages of the conversation still waiting to leave).
 */
export class Delivery1764400001000 implements MigrationInterface {
  name = 'Delivery1764400001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN provider_message_id text`);
    await q.query(`
      CREATE INDEX delivery_attempts_provider_idx ON delivery_attempts (workspace_id, inbox_id, provider_message_id)
      WHERE provider_message_id IS NOT NULL`);
    await q.query(`
      CREATE INDEX messages_outbound_queued_idx ON messages (workspace_id, conversation_id, id)
      WHERE direction = 'out' AND status = 'queued'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS messages_outbound_queued_idx`);
    await q.query(`DROP INDEX IF EXISTS delivery_attempts_provider_idx`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS provider_message_id`);
  }
}
