import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { REDIS } from '#queue';
import { testConfig, uuidv7At } from '#testing';
import { createLogger } from './logger.js';
import { OutboxRelay } from './outbox-relay.js';
import { createWorker } from './worker.js';

/** Commits an outbox row that was never published, as if the process died between commit and publish. */
async function insertStrandedRow(owner: pg.Client, workspaceId: string): Promise<{ id: string; payload: object }> {
  const id = uuidv7();
  const payload = { workspaceId, messageId: uuidv7() };
  await owner.query(
    `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at) VALUES ($1, $2, 'message.send', $3, now() - interval '1 hour')`,
    [id, workspaceId, payload],
  );
  return { id, payload };
}

/** A row published `ageMs` ago (and written then, its id too), whose job needs nothing more. */
async function insertPublishedRow(owner: pg.Client, workspaceId: string, ageMs: number): Promise<string> {
  const id = uuidv7At(Date.now() - ageMs);
  await owner.query(
    `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at, published_at)
     VALUES ($1, $2, 'event.dispatch', $3, now() - make_interval(secs => $4), now() - make_interval(secs => $4))`,
    [id, workspaceId, { workspaceId, event: { id: uuidv7() } }, ageMs / 1000],
  );
  return id;
}

async function remaining(owner: pg.Client, ids: string[]): Promise<number> {
  return (await owner.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::uuid[])', [ids])).rows[0].n;
}

async function publishedAt(owner: pg.Client, id: string): Promise<Date | null> {
  return (await owner.query('SELECT published_at FROM outbox WHERE id = $1', [id])).rows[0].published_at;
}

describe('outbox relay', () => {
  let config: FerryConfig;
  let owner: pg.Client;
  let workspaceId: string;

  beforeAll(async () => {
    config = await testConfig();
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    workspaceId = uuidv7();
    await owner.query(`INSERT INTO workspaces (id, name) VALUES ($1, 'Relay workspace')`, [workspaceId]);
  });
  afterAll(async () => owner?.end());

  describe('with Redis up', () => {
    let worker: INestApplicationContext;
    let relay: OutboxRelay;
    let outbound: Queue;
    let connection: Redis;

    beforeAll(async () => {
      worker = await createWorker(await testConfig({ OUTBOX_RELAY_INTERVAL_MS: '50' }), createLogger('silent'));
      relay = worker.get(OutboxRelay);
      const commands = worker.get<Redis>(REDIS);
      await vi.waitFor(() => expect(commands.status).toBe('ready'), { timeout: 10_000 });
      // An independent view of the queue, as a consumer with the worker's prefix would see it.
      connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
      outbound = new Queue('outbound', { connection, prefix: config.redis.keyPrefix });
    });
    afterAll(async () => {
      await worker?.close();
      await outbound?.obliterate({ force: true });
      await outbound?.close();
      connection?.disconnect();
    });

    it('publishes a committed, never-published row with jobId = outbox id, and marks it published', async () => {
      const row = await insertStrandedRow(owner, workspaceId);
      expect(await outbound.getJob(row.id)).toBeUndefined();

      const result = await relay.runOnce();

      expect(result).toMatchObject({ ok: true });
      const job = await outbound.getJob(row.id);
      expect(job).toBeDefined();
      expect(job!.name).toBe('message.send');
      expect(job!.data).toEqual(row.payload);
      expect(await publishedAt(owner, row.id)).toBeInstanceOf(Date);
    });

    it('adds nothing on a second run', async () => {
      const row = await insertStrandedRow(owner, workspaceId);
      expect(await relay.runOnce()).toMatchObject({ ok: true });
      const firstPublishedAt = await publishedAt(owner, row.id);
      const jobsBefore = await outbound.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');

      expect(await relay.runOnce()).toEqual({ ok: true, published: 0 });

      expect(await outbound.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized')).toBe(jobsBefore);
      expect(await publishedAt(owner, row.id)).toEqual(firstPublishedAt);
    });

    it('leaves rows younger than the grace period to the publisher that wrote them', async () => {
      const id = uuidv7();
      await owner.query(`INSERT INTO outbox (id, workspace_id, job_name, payload) VALUES ($1, $2, 'message.send', $3)`, [
        id,
        workspaceId,
        { workspaceId, messageId: uuidv7() },
      ]);
      expect(await relay.runOnce()).toEqual({ ok: true, published: 0 });
      expect(await publishedAt(owner, id)).toBeNull();
      expect(await outbound.getJob(id)).toBeUndefined();
      await owner.query('DELETE FROM outbox WHERE id = $1', [id]);
    });

    it('runs on its interval until stopped', async () => {
      const row = await insertStrandedRow(owner, workspaceId);
      relay.start();
      await vi.waitFor(async () => expect(await publishedAt(owner, row.id)).not.toBeNull(), { timeout: 10_000 });
      await relay.stop();
      const runs = relay.runs;
      const late = await insertStrandedRow(owner, workspaceId);
      await new Promise((resolve) => setTimeout(resolve, 500)); // ten intervals
      expect(relay.runs, 'no run after stop').toBe(runs);
      expect(await publishedAt(owner, late.id)).toBeNull();
      await owner.query('DELETE FROM outbox WHERE id = $1', [late.id]);
    });
  });

  describe('pruning', () => {
    let worker: INestApplicationContext;
    let relay: OutboxRelay;
    const HOUR = 3_600_000;

    beforeAll(async () => {
      const pruning = await testConfig({ OUTBOX_RETENTION_MS: String(HOUR), OUTBOX_PRUNE_BATCH: '10', OUTBOX_PRUNE_INTERVAL_MS: '600000' });
      worker = await createWorker(pruning, createLogger('silent'));
      relay = worker.get(OutboxRelay);
      await vi.waitFor(() => expect(worker.get<Redis>(REDIS).status).toBe('ready'), { timeout: 10_000 });
    });
    afterAll(async () => worker?.close());

    it('deletes published rows past the retention, batch after batch, then waits for its interval', async () => {
      const old: string[] = [];
      for (let i = 0; i < 25; i++) old.push(await insertPublishedRow(owner, workspaceId, 2 * HOUR + i * 1000));
      const young = await insertPublishedRow(owner, workspaceId, HOUR / 2);

      expect(await relay.runOnce()).toMatchObject({ ok: true });

      expect(await remaining(owner, old)).toBe(0);
      expect(relay.pruned).toBeGreaterThanOrEqual(25);
      expect(await remaining(owner, [young])).toBe(1);
      // Within OUTBOX_PRUNE_INTERVAL_MS the next runs relay only.
      const late = await insertPublishedRow(owner, workspaceId, 2 * HOUR);
      await relay.runOnce();
      expect(await remaining(owner, [late])).toBe(1);
      await owner.query('DELETE FROM outbox WHERE id = ANY($1::uuid[])', [[young, late]]);
    });
  });

  describe('with Redis unreachable', () => {
    let worker: INestApplicationContext;
    let relay: OutboxRelay;

    beforeAll(async () => {
      const unreachable = await testConfig({ REDIS_URL: 'redis://127.0.0.1:1', OUTBOX_RELAY_INTERVAL_MS: '10', OUTBOX_PRUNE_INTERVAL_MS: '10' });
      worker = await createWorker(unreachable, createLogger('silent'));
      relay = worker.get(OutboxRelay);
    });
    afterAll(async () => worker?.close());

    it('fails the run without throwing and leaves the row unpublished', async () => {
      const row = await insertStrandedRow(owner, workspaceId);
      const result = await relay.runOnce();
      expect(result).toMatchObject({ ok: false, error: expect.any(String) });
      expect(await publishedAt(owner, row.id)).toBeNull();
      await owner.query('DELETE FROM outbox WHERE id = $1', [row.id]);
    });

    it('prunes all the same (Postgres is all it needs)', async () => {
      const old = await insertPublishedRow(owner, workspaceId, 8 * 86_400_000);
      // A run within OUTBOX_PRUNE_INTERVAL_MS (10 ms here) of the last test's prune skips pruning: the next one prunes.
      await vi.waitFor(
        async () => {
          expect(await relay.runOnce()).toMatchObject({ ok: false });
          expect(await remaining(owner, [old])).toBe(0);
        },
        { timeout: 5000, interval: 20 },
      );
    });

    it('keeps looping through failures, and stops cleanly', async () => {
      const row = await insertStrandedRow(owner, workspaceId);
      relay.start();
      const before = relay.runs;
      await vi.waitFor(() => expect(relay.runs).toBeGreaterThanOrEqual(before + 3), { timeout: 10_000 });
      await relay.stop();
      expect(await publishedAt(owner, row.id)).toBeNull();
      await owner.query('DELETE FROM outbox WHERE id = $1', [row.id]);
    });
  });
});
