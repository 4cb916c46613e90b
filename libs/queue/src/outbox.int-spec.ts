import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, testConfig } from '#testing';
import { createRedis } from './redis.js';
import { Queues } from './queues.js';
import { Outbox } from './outbox.js';

describe('Outbox: jobs lost after publishing (recoverStalled), and coalesced jobs (billing.usage)', () => {
  let owner: pg.Client;
  let dataSource: DataSource;
  let queues: Queues;
  let outbox: Outbox;
  let redis: ReturnType<typeof createRedis>;

  beforeAll(async () => {
    const config = await testConfig({ REDIS_PREFIX: `ferry-test-recover-${process.pid}` });
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    dataSource = await createAppDataSource(config).initialize();
    redis = createRedis(config, 'commands');
    queues = new Queues(redis, config);
    outbox = new Outbox(queues, dataSource);
    await queues.get('outbound').obliterate({ force: true });
    await queues.get('billing').obliterate({ force: true });
  });
  afterAll(async () => {
    await queues?.get('outbound').obliterate({ force: true });
    await queues?.get('billing').obliterate({ force: true });
    await queues?.close();
    redis?.disconnect();
    await dataSource?.destroy();
    await owner?.end();
  });

  /** A queued reply and its outbox row, published `ageSeconds` ago; returns the outbox id. */
  async function stalledSend(ageSeconds: number, status = 'queued'): Promise<{ outboxId: string; messageId: string }> {
    const tenant = await seedTenant(await testConfig(), 'Stalled');
    const [contact, conversation, messageId, outboxId] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    await owner.query('INSERT INTO contacts (id, workspace_id, name) VALUES ($1, $2, $3)', [contact, tenant.workspaceId, 'C']);
    await owner.query('INSERT INTO conversations (id, workspace_id, contact_id) VALUES ($1, $2, $3)', [conversation, tenant.workspaceId, contact]);
    await owner.query(
      `INSERT INTO messages (id, workspace_id, conversation_id, direction, body, status) VALUES ($1, $2, $3, 'out', 'hi', $4)`,
      [messageId, tenant.workspaceId, conversation, status],
    );
    await owner.query(
      `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at, published_at)
       VALUES ($1, $2, 'message.send', $3, now() - make_interval(secs => $4), now() - make_interval(secs => $4))`,
      [outboxId, tenant.workspaceId, { workspaceId: tenant.workspaceId, messageId }, ageSeconds],
    );
    return { outboxId, messageId };
  }

  it('revives the job of a reply still queued long after publishing, once, with the same id', async () => {
    const { outboxId, messageId } = await stalledSend(3600);
    const fresh = await stalledSend(1);
    const settled = await stalledSend(3600, 'sent');
    expect(await outbox.recoverStalled(600_000)).toBe(1);
    const job = await queues.get('outbound').getJob(outboxId);
    expect(job?.name).toBe('message.send');
    expect(job?.data).toMatchObject({ messageId });
    expect(await queues.get('outbound').getJob(fresh.outboxId)).toBeUndefined();
    expect(await queues.get('outbound').getJob(settled.outboxId)).toBeUndefined();
    // The revived job is alive (waiting): the next pass leaves it alone.
    expect(await outbox.recoverStalled(600_000)).toBe(0);
  });

  it('revives the job of provider events still unprocessed (once for a batch), and leaves processed and given-up events alone', async () => {
    const tenant = await seedTenant(await testConfig(), 'Events');
    const inbox = uuidv7();
    await owner.query(`INSERT INTO inboxes (id, workspace_id, name, channel) VALUES ($1, $2, 'wa', 'whatsapp')`, [inbox, tenant.workspaceId]);
    const outboxIds: Record<string, string> = {};
    for (const [name, processed, error] of [['pending', false, null], ['processed', true, null], ['given-up', false, 'no such message']] as const) {
      const eventId = uuidv7();
      outboxIds[name] = uuidv7();
      await owner.query(
        `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event, processed_at, error, job_id)
         VALUES ($1, $2, $3, $4, 'status', '{}', CASE WHEN $5 THEN now() END, $6, $7)`,
        [eventId, tenant.workspaceId, inbox, name, processed, error, outboxIds[name]],
      );
      await owner.query(
        `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at, published_at)
         VALUES ($1, $2, 'status.apply', $3, now() - interval '1 hour', now() - interval '1 hour')`,
        [outboxIds[name], tenant.workspaceId, { workspaceId: tenant.workspaceId, eventId }],
      );
    }
    // A batch job naming three messages, two of them still unprocessed: revived once.
    const batchJob = uuidv7();
    const batch = [uuidv7(), uuidv7(), uuidv7()];
    for (const [i, eventId] of batch.entries()) {
      await owner.query(
        `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event, processed_at, job_id)
         VALUES ($1, $2, $3, $4, 'message', '{}', CASE WHEN $5 THEN now() END, $6)`,
        [eventId, tenant.workspaceId, inbox, `batch-${i}`, i === 0, batchJob],
      );
    }
    await owner.query(
      `INSERT INTO outbox (id, workspace_id, job_name, payload, created_at, published_at)
       VALUES ($1, $2, 'inbound.process', $3, now() - interval '1 hour', now() - interval '1 hour')`,
      [batchJob, tenant.workspaceId, { workspaceId: tenant.workspaceId, eventIds: batch }],
    );
    expect(await outbox.recoverStalled(600_000)).toBe(2);
    expect((await queues.get('inbound').getJob(batchJob))?.data).toEqual({ workspaceId: tenant.workspaceId, eventIds: batch });
    await queues.get('inbound').obliterate({ force: true });
    expect((await queues.get('status').getJob(outboxIds['pending']!))?.name).toBe('status.apply');
    expect(await queues.get('status').getJob(outboxIds['processed']!)).toBeUndefined();
    expect(await queues.get('status').getJob(outboxIds['given-up']!)).toBeUndefined();
    await queues.get('status').obliterate({ force: true });
  });

  it('publishes the rows of a workspace committed at once as one job naming every message, and marks every row', async () => {
    const db = new TenantDb(dataSource);
    const [a, b] = [await seedTenant(await testConfig(), 'Coalesce A'), await seedTenant(await testConfig(), 'Coalesce B')];
    const messages = { [a.workspaceId]: [uuidv7(), uuidv7(), uuidv7()], [b.workspaceId]: [uuidv7()] };
    // Each workspace's rows in one transaction: their jobs are published at the same moment.
    const rowIds = (
      await Promise.all(
        Object.entries(messages).map(([workspaceId, ids]) =>
          db.run(workspaceId, async (tx) => {
            const written: string[] = [];
            for (const messageId of ids) written.push(await outbox.write(tx, 'billing.usage', { workspaceId, messageId }));
            return written;
          }),
        ),
      )
    ).flat();
    await outbox.flush();
    const jobs = await queues.get('billing').getJobs(['waiting', 'delayed', 'prioritized']);
    const byWorkspace = new Map(jobs.map((job) => [(job.data as { workspaceId: string }).workspaceId, job]));
    expect(jobs).toHaveLength(2);
    const jobA = byWorkspace.get(a.workspaceId)!;
    expect(jobA.name).toBe('billing.usage');
    expect([...(jobA.data as { messageIds: string[] }).messageIds].sort()).toEqual([...messages[a.workspaceId]!].sort());
    expect(rowIds).toContain(jobA.id);
    expect((byWorkspace.get(b.workspaceId)!.data as { messageId: string }).messageId).toBe(messages[b.workspaceId]![0]);
    const unpublished = await owner.query(`SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::uuid[]) AND published_at IS NULL`, [rowIds]);
    expect(unpublished.rows[0].n).toBe(0);
  });
  it('publishes the message.send rows of one transaction as one job whose members name each row; a lone row as its own job', async () => {
    const db = new TenantDb(dataSource);
    const { workspaceId } = await seedTenant(await testConfig(), 'Coalesce sends');
    const stage = (count: number): Promise<string[]> =>
      db.run(workspaceId, async (tx) => {
        const rowIds: string[] = [];
        for (let i = 0; i < count; i++) rowIds.push(await outbox.write(tx, 'message.send', { workspaceId, messageId: uuidv7() }));
        return rowIds;
      });
    const together = await stage(3);
    await outbox.flush();
    const alone = await stage(1);
    await outbox.flush();

    const jobs = (await queues.get('outbound').getJobs(['waiting', 'delayed', 'prioritized'])).filter(
      (job) => (job.data as { workspaceId: string }).workspaceId === workspaceId,
    );
    expect(jobs).toHaveLength(2);
    const batch = jobs.find((job) => (job.data as { members?: unknown[] }).members)!;
    const members = (batch.data as { members: Array<{ messageId: string; jobId: string }> }).members;
    expect(members.map((member) => member.jobId)).toEqual(together);
    const rows = await owner.query(`SELECT id, payload->>'messageId' AS message_id, published_at FROM outbox WHERE id = ANY($1::uuid[])`, [together]);
    for (const member of members) expect(rows.rows.find((row: { id: string }) => row.id === member.jobId)?.message_id).toBe(member.messageId);
    expect(together).not.toContain(batch.id);
    const single = jobs.find((job) => job !== batch)!;
    expect(single.id).toBe(alone[0]);
    expect(single.data).not.toHaveProperty('members');
    const unpublished = await owner.query(`SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::uuid[]) AND published_at IS NULL`, [[...together, ...alone]]);
    expect(unpublished.rows[0].n).toBe(0);
  });
});
