import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource } from '#database';
import { seedTenant, testConfig, uuidv7At } from '#testing';
import type { FerryConfig } from '#config';
import { createRedis } from './redis.js';
import { Queues } from './queues.js';
import { Outbox } from './outbox.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The retention these tests prune with. */
const RETENTION = DAY;

describe('Outbox.prune (ferry_outbox_prune), on the app role', () => {
  let config: FerryConfig;
  let owner: pg.Client;
  let dataSource: DataSource;
  let queues: Queues;
  let outbox: Outbox;
  let redis: ReturnType<typeof createRedis>;
  const workspaces: string[] = [];

  beforeAll(async () => {
    config = await testConfig();
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    // The application's own connection: the role held to one workspace by row-level security.
    dataSource = await createAppDataSource(config).initialize();
    redis = createRedis(config, 'commands');
    queues = new Queues(redis, config);
    outbox = new Outbox(queues, dataSource);
  });
  // Each test's rows go with its workspace, so no pending work is left for another file's recovery tests.
  afterEach(async () => {
    await owner.query('DELETE FROM workspaces WHERE id = ANY($1::uuid[])', [workspaces.splice(0)]);
  });
  afterAll(async () => {
    await queues?.close();
    redis?.disconnect();
    await dataSource?.destroy();
    await owner?.end();
  });

  async function workspace(): Promise<string> {
    const { workspaceId } = await seedTenant(config, 'Prune');
    workspaces.push(workspaceId);
    return workspaceId;
  }

  /** An outbox row written `ageMs` ago (its id made then too, as UUIDv7 ids are), published then unless `published` is false. */
  async function row(workspaceId: string, jobName: string, payload: object, ageMs: number, options: { published?: boolean; id?: string } = {}): Promise<string> {
    const id = options.id ?? uuidv7At(Date.now() - ageMs);
    await owner.query(
      `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at, published_at)
       VALUES ($1, $2, $3, $4, now() - make_interval(secs => $5), CASE WHEN $6 THEN now() - make_interval(secs => $5) END)`,
      [id, workspaceId, jobName, payload, ageMs / 1000, options.published ?? true],
    );
    return id;
  }

  async function existing(ids: string[]): Promise<string[]> {
    const { rows } = await owner.query<{ id: string }>('SELECT id FROM outbox WHERE id = ANY($1::uuid[])', [ids]);
    return rows.map((r) => r.id);
  }

  /** Prunes as the worker does: batch after batch while they come back full. Answers each call's count. */
  async function pruneAll(batch = 1000): Promise<number[]> {
    const counts: number[] = [];
    do counts.push(await outbox.prune(RETENTION, batch));
    while (counts.at(-1) === batch);
    return counts;
  }

  it('deletes published rows older than the window, and keeps younger and unpublished ones', async () => {
    const ws = await workspace();
    const old = [
      await row(ws, 'event.dispatch', { workspaceId: ws, event: { id: uuidv7() } }, 3 * DAY),
      await row(ws, 'billing.usage', { workspaceId: ws, messageId: uuidv7() }, RETENTION + HOUR),
      await row(ws, 'message.send', { workspaceId: ws, messageId: uuidv7() }, 30 * DAY), // its message is gone
    ];
    const young = await row(ws, 'event.dispatch', { workspaceId: ws, event: { id: uuidv7() } }, RETENTION - HOUR);
    const unpublished = await row(ws, 'billing.usage', { workspaceId: ws, messageId: uuidv7() }, 30 * DAY, { published: false });

    await pruneAll();

    expect(await existing([...old, young, unpublished])).toEqual(expect.arrayContaining([young, unpublished]));
    expect(await existing(old)).toEqual([]);
  });

  it('keeps the rows whose work is still pending (what ferry_outbox_stalled revives from), and deletes them once it is done', async () => {
    const ws = await workspace();
    const old = 10 * DAY;
    const kept: Record<string, string> = {};
    const removed: Record<string, string> = {};

    // Replies: one still queued (its send job may have died in BullMQ), one sent.
    const [contact, conversation] = [uuidv7(), uuidv7()];
    await owner.query('INSERT INTO contacts (id, workspace_id, name) VALUES ($1, $2, $3)', [contact, ws, 'C']);
    await owner.query('INSERT INTO conversations (id, workspace_id, contact_id) VALUES ($1, $2, $3)', [conversation, ws, contact]);
    const message = async (status: string, externalId: string | null = null): Promise<string> => {
      const id = uuidv7();
      await owner.query(
        `INSERT INTO messages (id, workspace_id, conversation_id, direction, body, status, external_id) VALUES ($1, $2, $3, 'out', 'hi', $4, $5)`,
        [id, ws, conversation, status, externalId],
      );
      return id;
    };
    kept['queued send'] = await row(ws, 'message.send', { workspaceId: ws, messageId: await message('queued') }, old);
    removed['sent send'] = await row(ws, 'message.send', { workspaceId: ws, messageId: await message('sent') }, old);

    // Provider events: a batch job with one event still unprocessed, one all processed, one processed
    // and given up (error); a receipt job still pending; a job from before batches (payload eventId).
    const inbox = uuidv7();
    await owner.query(`INSERT INTO inboxes (id, workspace_id, name, channel) VALUES ($1, $2, 'wa', 'whatsapp')`, [inbox, ws]);
    const eventJob = async (jobName: string, events: Array<'pending' | 'processed' | 'given up'>, legacy = false): Promise<string> => {
      const jobId = uuidv7At(Date.now() - old);
      const ids: string[] = [];
      for (const state of events) {
        const id = uuidv7();
        ids.push(id);
        await owner.query(
          `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event, processed_at, error, job_id)
           VALUES ($1, $2, $3, $4, 'message', '{}', CASE WHEN $5 = 'processed' THEN now() END, CASE WHEN $5 = 'given up' THEN 'no such message' END, $6)`,
          [id, ws, inbox, id, state, jobId],
        );
      }
      const payload = jobName === 'status.apply' || legacy ? { workspaceId: ws, eventId: ids[0] } : { workspaceId: ws, eventIds: ids };
      return row(ws, jobName, payload, old, { id: jobId });
    };
    kept['inbound batch, one event pending'] = await eventJob('inbound.process', ['processed', 'pending', 'processed']);
    kept['receipt pending'] = await eventJob('status.apply', ['pending']);
    kept['inbound job from before batches, pending'] = await eventJob('inbound.process', ['pending'], true);
    removed['inbound batch, all processed'] = await eventJob('inbound.process', ['processed', 'processed']);
    removed['inbound batch, processed or given up'] = await eventJob('inbound.process', ['processed', 'given up']);

    // Fallback deadline checks on a hop sent and not delivered: not run yet, its deadline inside the
    // window, ahead, or long past (its job lost and not revived yet: a worker down for days); run at
    // its deadline and left the message as it was, nowhere to go (recorded on the attempt); and the
    // same hop delivered. Only a check that has not run is kept, whatever its deadline.
    const check = async (receipt: string | null, dueAgoMs: number, ageMs: number, ran = false): Promise<string> => {
      const externalId = `wamid.${uuidv7()}`;
      const messageId = await message('sent', externalId);
      const attemptId = uuidv7();
      const dueAt = new Date(Date.now() - dueAgoMs).toISOString();
      await owner.query(
        `INSERT INTO delivery_attempts (id, workspace_id, message_id, channel, status, provider_message_id, receipt_status, fallback_checked_at)
         VALUES ($1, $2, $3, 'whatsapp', 'sent', $4, $5, CASE WHEN $6 THEN $7::timestamptz END)`,
        [attemptId, ws, messageId, externalId, receipt, ran, dueAt],
      );
      return row(ws, 'message.fallback_check', { workspaceId: ws, messageId, attemptId, dueAt }, ageMs);
    };
    kept['fallback check, deadline inside the window'] = await check(null, RETENTION / 2, 3 * DAY);
    kept['fallback check, deadline ahead'] = await check(null, -DAY, 2 * DAY);
    kept['fallback check, deadline long past, never run'] = await check(null, old - 10 * 60_000, old);
    removed['fallback check, delivered'] = await check('delivered', RETENTION / 2, 3 * DAY);
    removed['fallback check, ran and stayed'] = await check(null, old - 10 * 60_000, old, true);
    removed['fallback check, ran and stayed, deadline inside the window'] = await check(null, RETENTION / 2, 3 * DAY, true);

    // Webhook deliveries: one waiting for its retry hours ahead, one succeeded; batches likewise.
    const endpoint = uuidv7();
    await owner.query(
      `INSERT INTO webhook_endpoints (id, workspace_id, url, events, secret_sealed) VALUES ($1, $2, 'https://example.test/hook', '{message.created}', 'x')`,
      [endpoint, ws],
    );
    const delivery = async (status: string, batchId: string | null = null): Promise<string> => {
      const id = uuidv7();
      await owner.query(
        `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status, next_attempt_at, batch_id)
         VALUES ($1, $2, $3, $4, 'message.created', '{}', $5, CASE WHEN $5 = 'pending' THEN now() + interval '5 hours' END, $6)`,
        [id, ws, endpoint, uuidv7(), status, batchId],
      );
      return id;
    };
    kept['webhook retry ahead'] = await row(ws, 'webhook.deliver', { workspaceId: ws, deliveryId: await delivery('pending') }, old);
    removed['webhook succeeded'] = await row(ws, 'webhook.deliver', { workspaceId: ws, deliveryId: await delivery('succeeded') }, old);
    const batch = async (statuses: string[]): Promise<string> => {
      const batchId = uuidv7At(Date.now() - old);
      const deliveryIds = [];
      for (const status of statuses) deliveryIds.push(await delivery(status, batchId));
      return row(ws, 'webhook.deliver_batch', { workspaceId: ws, deliveryIds }, old, { id: batchId });
    };
    kept['webhook batch, one pending'] = await batch(['succeeded', 'pending', 'failed']);
    removed['webhook batch, all done'] = await batch(['succeeded', 'failed']);

    // What the recovery would revive now (its own time conditions met): the prune keeps all of it.
    const stalled = async (): Promise<string[]> =>
      (await owner.query<{ id: string }>(`SELECT id FROM ferry_outbox_stalled(interval '0', 1000) WHERE workspace_id = $1`, [ws])).rows.map((r) => r.id);
    const revivable = await stalled();
    expect(revivable.sort()).toEqual(
      [
        kept['queued send'],
        kept['inbound batch, one event pending'],
        kept['receipt pending'],
        kept['inbound job from before batches, pending'],
        kept['fallback check, deadline inside the window'],
        kept['fallback check, deadline long past, never run'],
      ].sort(),
    );

    await pruneAll();

    const left = new Set(await existing([...Object.values(kept), ...Object.values(removed)]));
    expect(Object.keys(kept).filter((name) => !left.has(kept[name]!)), 'deleted though pending').toEqual([]);
    expect(Object.keys(removed).filter((name) => left.has(removed[name]!)), 'kept though done').toEqual([]);
    expect((await stalled()).sort()).toEqual(revivable.sort());

    // The work done, the rows go.
    await owner.query(`UPDATE messages SET status = 'sent' WHERE workspace_id = $1 AND status = 'queued'`, [ws]);
    await owner.query(`UPDATE inbound_events SET processed_at = now() WHERE workspace_id = $1`, [ws]);
    await owner.query(`UPDATE delivery_attempts SET receipt_status = 'delivered' WHERE workspace_id = $1`, [ws]);
    await owner.query(`UPDATE webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL WHERE workspace_id = $1`, [ws]);
    await pruneAll();
    expect(await existing(Object.values(kept))).toEqual([]);
  });

  it('deletes a backlog larger than one batch over several calls, each in its own transaction', async () => {
    const ws = await workspace();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await row(ws, 'event.dispatch', { workspaceId: ws, event: { id: uuidv7() } }, 2 * DAY + i * 1000));

    const counts = await pruneAll(10);

    expect(counts.slice(0, 2)).toEqual([10, 10]);
    expect(counts.length).toBeGreaterThanOrEqual(3);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(25);
    expect(await existing(ids)).toEqual([]);
  });

  it('works across workspaces, which the app role itself may not', async () => {
    const [a, b] = [await workspace(), await workspace()];
    const ids = [
      await row(a, 'event.dispatch', { workspaceId: a, event: { id: uuidv7() } }, 2 * DAY),
      await row(b, 'event.dispatch', { workspaceId: b, event: { id: uuidv7() } }, 2 * DAY),
    ];
    // Row-level security: outside a workspace's transaction the app role sees no outbox row.
    await dataSource.query('DELETE FROM outbox WHERE id = ANY($1::uuid[])', [ids]);
    expect(await existing(ids)).toHaveLength(2);

    await pruneAll();

    expect(await existing(ids)).toEqual([]);
    // SECURITY DEFINER and deleting across workspaces: only the app role may run it, not PUBLIC.
    const { rows } = await owner.query(
      `SELECT has_function_privilege($1, 'ferry_outbox_prune(interval, integer)', 'EXECUTE') AS app,
              EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) acl
                      WHERE p.proname = 'ferry_outbox_prune' AND acl.grantee = 0 AND acl.privilege_type = 'EXECUTE') AS public`,
      [config.database.appRole],
    );
    expect(rows[0]).toEqual({ app: true, public: false });
  });

  it('answers 0 at once while another prune runs, and skips rows another transaction holds', async () => {
    const ws = await workspace();
    const [held, free] = [
      await row(ws, 'event.dispatch', { workspaceId: ws, event: { id: uuidv7() } }, 2 * DAY),
      await row(ws, 'event.dispatch', { workspaceId: ws, event: { id: uuidv7() } }, 2 * DAY),
    ];
    const other = new pg.Client({ connectionString: config.database.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      // Another worker's prune in progress holds this lock (PRUNE_LOCK in outbox-stalled.ts).
      await other.query('SELECT pg_advisory_xact_lock(7261101)');
      expect(await outbox.prune(RETENTION, 1000)).toBe(0);
      expect(await existing([held, free])).toHaveLength(2);
      await other.query('COMMIT');

      await other.query('BEGIN');
      await other.query('SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE', [held]);
      await pruneAll();
      expect(await existing([held, free])).toEqual([held]);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    await pruneAll();
    expect(await existing([held])).toEqual([]);
  });
});
