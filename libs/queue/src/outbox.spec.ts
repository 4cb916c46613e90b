import { describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import type { TenantTx } from '#database';
import type { JobName, JobPayloads } from './job-catalogue.js';
import { Outbox } from './outbox.js';
import type { Queues } from './queues.js';

interface Added {
  name: JobName;
  payload: JobPayloads[JobName];
  jobId: string;
}

/** Records adds; each add waits for `gate` (when set) and fails while `failing`. */
class FakeQueues {
  readonly added: Added[] = [];
  gate: Promise<void> | undefined;
  failing = false;

  async add<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string): Promise<void> {
    this.added.push({ name, payload, jobId });
    if (this.gate) await this.gate;
    if (this.failing) throw new Error('Redis is down');
  }
}

/** Records the rows marked published. */
class FakeDataSource {
  readonly marked: string[] = [];
  async query(sql: string, params: unknown[]): Promise<unknown[]> {
    if (sql.includes('ferry_outbox_mark_published')) this.marked.push(...(params[0] as string[]));
    return [];
  }
}

/** Commits like TenantDb.run: the effects of one transaction started in one synchronous pass, not awaited. */
function commit(workspaceId: string, stage: (tx: TenantTx) => void): void {
  const effects: Array<() => Promise<void>> = [];
  stage({ workspaceId, manager: undefined as never, afterCommit: (effect) => effects.push(effect), atCommit: async () => [] });
  void Promise.allSettled(effects.map((effect) => effect()));
}

/** Lets every pending microtask and immediate run (no timer of 10 ms or more fires). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(): { outbox: Outbox; queues: FakeQueues; data: FakeDataSource } {
  const queues = new FakeQueues();
  const data = new FakeDataSource();
  return { outbox: new Outbox(queues as unknown as Queues, data as unknown as DataSource), queues, data };
}

function sends(outbox: Outbox, tx: TenantTx, count: number): Array<{ rowId: string; messageId: string }> {
  return Array.from({ length: count }, () => {
    const messageId = uuidv7();
    const job = outbox.prepare('message.send', { workspaceId: tx.workspaceId, messageId });
    outbox.publishAfterCommit(tx, job);
    return { rowId: job.id, messageId };
  });
}

describe('Outbox: message.send rows coalesced without a timer', () => {
  const workspaceId = uuidv7();

  it('publishes the rows of one transaction as one job with a fresh id whose members carry each row id', async () => {
    const { outbox, queues, data } = setup();
    let rows: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => {
      rows = sends(outbox, tx, 3);
    });
    await settle();

    expect(queues.added).toHaveLength(1);
    const [job] = queues.added;
    expect(job!.name).toBe('message.send');
    expect(job!.payload).toEqual({
      workspaceId,
      messageId: rows[0]!.messageId,
      members: rows.map((row) => ({ messageId: row.messageId, jobId: row.rowId })),
    });
    // A member's row id stays free for the member's own job (deferred or retried alone).
    expect(rows.map((row) => row.rowId)).not.toContain(job!.jobId);
    await outbox.flush();
    expect([...data.marked].sort()).toEqual(rows.map((row) => row.rowId).sort());
  });

  it('publishes a lone row at once, as the job it always was (row id, plain payload), before any timer', async () => {
    const { outbox, queues } = setup();
    let rows: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => {
      rows = sends(outbox, tx, 1);
    });
    await settle();
    expect(queues.added).toEqual([{ name: 'message.send', payload: { workspaceId, messageId: rows[0]!.messageId }, jobId: rows[0]!.rowId }]);
  });

  it('rows committed while a publish is in flight go together in the next job; another workspace does not wait', async () => {
    const { outbox, queues, data } = setup();
    let release!: () => void;
    queues.gate = new Promise((resolve) => (release = resolve));
    let first: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => {
      first = sends(outbox, tx, 1);
    });
    await settle();
    expect(queues.added).toHaveLength(1);

    const later: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => void later.push(...sends(outbox, tx, 1)));
    commit(workspaceId, (tx) => void later.push(...sends(outbox, tx, 2)));
    const other = uuidv7();
    commit(other, (tx) => void sends(outbox, tx, 1));
    await settle();
    expect(queues.added, 'the other workspace publishes at once; this one waits for its publish in flight').toHaveLength(2);
    expect(queues.added[1]!.payload.workspaceId).toBe(other);

    queues.gate = undefined;
    release();
    await settle();
    expect(queues.added).toHaveLength(3);
    const next = queues.added[2]!;
    expect(next.payload).toEqual({ workspaceId, messageId: later[0]!.messageId, members: later.map((row) => ({ messageId: row.messageId, jobId: row.rowId })) });
    await outbox.flush();
    expect(data.marked).toEqual(expect.arrayContaining([...first, ...later].map((row) => row.rowId)));
  });

  it('a failed publish leaves its rows unmarked for the relay; the next commit publishes normally', async () => {
    const { outbox, queues, data } = setup();
    queues.failing = true;
    let lost: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => {
      lost = sends(outbox, tx, 2);
    });
    await settle();
    await outbox.flush();
    expect(queues.added).toHaveLength(1);
    expect(data.marked).toEqual([]);

    queues.failing = false;
    let kept: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => {
      kept = sends(outbox, tx, 1);
    });
    await outbox.flush();
    expect(queues.added).toHaveLength(2);
    expect(data.marked).toEqual([kept[0]!.rowId]);
    expect(data.marked).not.toContain(lost[0]!.rowId);
  });

  it('a commit of more rows than one job takes goes out in jobs of at most 64, every row in one of them once', async () => {
    const { outbox, queues } = setup();
    let rows: Array<{ rowId: string; messageId: string }> = [];
    commit(workspaceId, (tx) => {
      rows = sends(outbox, tx, 70);
    });
    await outbox.flush();
    const members = queues.added.map((job) => (job.payload as JobPayloads['message.send']).members ?? []);
    expect(members.map((list) => list.length)).toEqual([64, 6]);
    expect(members.flat().map((member) => member.jobId)).toEqual(rows.map((row) => row.rowId));
  });

  it('billing.usage keeps its timer: rows of separate commits a few milliseconds apart share one job under the first row id', async () => {
    const { outbox, queues } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      commit(workspaceId, (tx) => {
        const job = outbox.prepare('billing.usage', { workspaceId, messageId: uuidv7() });
        outbox.publishAfterCommit(tx, job);
        ids.push(job.id);
      });
      await settle();
    }
    expect(queues.added, 'nothing before the timer').toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(queues.added).toHaveLength(1);
    expect(queues.added[0]!.jobId).toBe(ids[0]);
    expect((queues.added[0]!.payload as JobPayloads['billing.usage']).messageIds).toHaveLength(2);
  });
});
