import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { type MigrationDatabase, migrationDatabase, seedTenant, testConfig } from '#testing';
import { FallbackChecked1765500000000 } from './migrations/1765500000000-fallback-checked.js';
import {
  CURRENT_PENDING_WORK,
  CURRENT_STALLED_BRANCHES,
  PENDING_EVENT_JOBS,
  PENDING_FALLBACK_CHECKS,
  PENDING_SENDS,
  PENDING_WEBHOOK_BATCHES,
  PENDING_WEBHOOK_DELIVERIES,
  pruneFunction,
  STALLED_EVENT_JOBS,
  STALLED_FALLBACK_CHECKS,
  STALLED_SENDS,
  STALLED_WEBHOOK_BATCHES,
  STALLED_WEBHOOK_DELIVERIES,
  stalledFunction,
} from './migrations/outbox-stalled.js';

const DAY = 86_400_000;

/** The body ($$ ... $$) of a CREATE FUNCTION statement: what pg_proc.prosrc holds. */
const body = (statement: string): string => /\$\$([\s\S]*)\$\$/.exec(statement)![1]!;

async function definitions(client: pg.Client): Promise<{ stalled: string; prune: string }> {
  const { rows } = await client.query<{ proname: string; prosrc: string }>(
    `SELECT proname, prosrc FROM pg_proc WHERE proname IN ('ferry_outbox_stalled', 'ferry_outbox_prune')`,
  );
  const of = (name: string): string => rows.find((row) => row.proname === name)!.prosrc;
  return { stalled: of('ferry_outbox_stalled'), prune: of('ferry_outbox_prune') };
}

describe('ferry_outbox_stalled and ferry_outbox_prune as migrated', () => {
  it('are built from the branches and twins outbox-stalled.ts names current (none lost, none superseded)', async () => {
    const config = await testConfig();
    const owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    try {
      expect(await definitions(owner)).toEqual({
        stalled: body(stalledFunction(CURRENT_STALLED_BRANCHES)),
        prune: body(pruneFunction(CURRENT_PENDING_WORK)),
      });
    } finally {
      await owner.end();
    }
  });
});

/**
 * FallbackChecked1765500000000 on a database of its own (cloned from the migrated template): taken
 * down, given fallback checks as they stood before it, and brought up again.
 */
describe('FallbackChecked1765500000000 (down, backfill, up)', () => {
  let db: MigrationDatabase;
  let config: FerryConfig;
  let owner: pg.Client;
  const migration = new FallbackChecked1765500000000();
  const run = (step: 'up' | 'down'): Promise<void> => db.run(migration, step);

  beforeAll(async () => {
    db = await migrationDatabase('fallback_checked');
    ({ config, owner } = db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('down restores the previous functions and drops the column; up records week-old checks as decided and leaves the rest to run', async () => {
    await run('down');
    expect(await definitions(owner)).toEqual({
      stalled: body(stalledFunction([STALLED_SENDS, STALLED_EVENT_JOBS, STALLED_FALLBACK_CHECKS, STALLED_WEBHOOK_DELIVERIES, STALLED_WEBHOOK_BATCHES])),
      prune: body(pruneFunction([PENDING_SENDS, PENDING_EVENT_JOBS, PENDING_FALLBACK_CHECKS, PENDING_WEBHOOK_DELIVERIES, PENDING_WEBHOOK_BATCHES])),
    });
    const column = `SELECT 1 FROM information_schema.columns WHERE table_name = 'delivery_attempts' AND column_name = 'fallback_checked_at'`;
    expect((await owner.query(column)).rowCount).toBe(0);

    // Checks as they stood before: a hop sent and not delivered whose deadline passed 8 days ago
    // (ran and stayed, or lost: Postgres cannot tell), one whose deadline passed a day ago, and a
    // delivered one 8 days ago.
    const { workspaceId: ws } = await seedTenant(config, 'Before fallback_checked_at');
    const [contact, conversation] = [uuidv7(), uuidv7()];
    await owner.query('INSERT INTO contacts (id, workspace_id, name) VALUES ($1, $2, $3)', [contact, ws, 'C']);
    await owner.query('INSERT INTO conversations (id, workspace_id, contact_id) VALUES ($1, $2, $3)', [conversation, ws, contact]);
    const check = async (dueAgoMs: number, receipt: string | null): Promise<{ attemptId: string; dueAt: string; outboxId: string }> => {
      const [messageId, attemptId, outboxId, externalId] = [uuidv7(), uuidv7(), uuidv7(), `wamid.${uuidv7()}`];
      await owner.query(
        `INSERT INTO messages (id, workspace_id, conversation_id, direction, body, status, external_id) VALUES ($1, $2, $3, 'out', 'hi', 'sent', $4)`,
        [messageId, ws, conversation, externalId],
      );
      await owner.query(
        `INSERT INTO delivery_attempts (id, workspace_id, message_id, channel, status, provider_message_id, receipt_status)
         VALUES ($1, $2, $3, 'whatsapp', 'sent', $4, $5)`,
        [attemptId, ws, messageId, externalId, receipt],
      );
      const dueAt = new Date(Date.now() - dueAgoMs).toISOString();
      await owner.query(
        `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at, published_at)
         VALUES ($1, $2, 'message.fallback_check', $3, now() - make_interval(secs => $4), now())`,
        [outboxId, ws, { workspaceId: ws, messageId, attemptId, dueAt }, dueAgoMs / 1000 + 600],
      );
      return { attemptId, dueAt, outboxId };
    };
    const weekOld = await check(8 * DAY, null);
    const recent = await check(DAY, null);
    const delivered = await check(8 * DAY, 'delivered');

    await run('up');

    expect(await definitions(owner)).toEqual({
      stalled: body(stalledFunction(CURRENT_STALLED_BRANCHES)),
      prune: body(pruneFunction(CURRENT_PENDING_WORK)),
    });
    const { rows } = await owner.query<{ id: string; fallback_checked_at: Date | null }>(
      'SELECT id, fallback_checked_at FROM delivery_attempts WHERE workspace_id = $1',
      [ws],
    );
    const checkedAt = new Map(rows.map((row) => [row.id, row.fallback_checked_at]));
    expect(checkedAt.get(weekOld.attemptId)).toEqual(new Date(weekOld.dueAt));
    expect(checkedAt.get(recent.attemptId)).toBeNull();
    expect(checkedAt.get(delivered.attemptId)).toBeNull();
    const stalled = await owner.query<{ id: string }>(`SELECT id FROM ferry_outbox_stalled(interval '0', 1000) WHERE workspace_id = $1`, [ws]);
    expect(stalled.rows.map((row) => row.id)).toEqual([recent.outboxId]);
  });
});
