import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import type { TenantTx } from '#database';
import { COALESCED_JOBS, type Coalescing, isJobName, JOBS, type JobName, type JobPayloads } from './job-catalogue.js';
import type { Queues } from './queues.js';

const MARK_DELAY_MS = 20;
/** How long a coalesced job gathered by timer (COALESCED_JOBS) waits for more rows; how many rows any coalesced job takes at most. */
const COALESCE_DELAY_MS = 10;
const COALESCE_MAX = 500;

/** An outbox row prepared for the caller to insert: payload as JSON text, and as data for the queue. */
export interface StagedJob<N extends JobName = JobName> {
  id: string;
  jobName: N;
  payload: string;
  data: JobPayloads[N];
}

/**
 * The transactional outbox. A job is written as a row in the same transaction as the change that
 * causes it, then published to BullMQ after commit (jobId = row id). If publishing fails (Redis down,
 * a crash between commit and publish) the row stays unpublished and the relay sends it later.
 * Postgres, not Redis, is the record of intent.
 */
export class Outbox {
  /** Published jobs whose rows are not marked yet: marked together, one statement per tick of work. */
  private published: string[] = [];
  private marking: NodeJS.Timeout | undefined;
  /** Committed rows of coalesced jobs gathered by timer, by job name and workspace, waiting to be published together. */
  private coalescing = new Map<string, StagedJob[]>();
  private coalescingTimer: NodeJS.Timeout | undefined;
  /** Coalesced jobs gathered while in flight, by job name and workspace: rows waiting, and the publishing in progress. */
  private lanes = new Map<string, { rows: StagedJob[]; draining: Promise<void> | undefined }>();

  constructor(
    private readonly queues: Queues,
    private readonly dataSource: DataSource,
  ) {}

  async write<N extends JobName>(tx: TenantTx, name: N, payload: JobPayloads[N]): Promise<string> {
    const job = this.prepare(name, payload);
    await tx.manager.query(`INSERT INTO outbox (id, workspace_id, job_name, payload) VALUES ($1, $2, $3, $4::jsonb)`, [
      job.id,
      tx.workspaceId,
      job.jobName,
      job.payload,
    ]);
    this.publishAfterCommit(tx, job);
    return job.id;
  }

  /**
   * A job row for the caller to insert into `outbox` itself, within a statement that writes the change
   * causing it (one round trip instead of two). Once the row is inserted, publishAfterCommit(tx, job).
   */
  prepare<N extends JobName>(name: N, payload: JobPayloads[N]): StagedJob<N> {
    return { id: uuidv7(), jobName: name, payload: JSON.stringify(payload), data: payload };
  }

  /** Publishes a prepared job (its row inserted in `tx`) once `tx` has committed. */
  publishAfterCommit<N extends JobName>(tx: TenantTx, job: StagedJob<N>): void {
    const coalescing = COALESCED_JOBS[job.jobName];
    if (coalescing?.gather === 'in-flight') {
      tx.afterCommit(async () => this.publishSoon(job));
      return;
    }
    if (coalescing) {
      tx.afterCommit(async () => this.coalesce(job));
      return;
    }
    tx.afterCommit(async () => {
      await this.queues.add(job.jobName, job.data, job.id);
      this.markSoon(job.id);
    });
  }

  /** publishAfterCommit for a row inserted by tx.atCommit: published only if the insert wrote it (`written` has a row). */
  publishIfWritten<N extends JobName>(tx: TenantTx, job: StagedJob<N>, written: Promise<unknown[]>): void {
    const ifWritten: TenantTx = { ...tx, afterCommit: (effect) => tx.afterCommit(async () => ((await written).length > 0 ? effect() : undefined)) };
    this.publishAfterCommit(ifWritten, job);
  }

  /**
   * Marks a committed row whose job the writing process ran itself instead of queueing it, so the
   * relay leaves it alone. A row never marked (the process died during the run) is published by the
   * relay after its grace period, as if its publish had been lost.
   */
  ranInline(id: string): void {
    this.markSoon(id);
  }

  /** Publishes what waits to be coalesced, then marks what is published and not marked yet (shutdown: the relay would otherwise publish it again). */
  async flush(): Promise<void> {
    await Promise.all([this.publishCoalesced(), ...[...this.lanes.values()].map((lane) => lane.draining)]);
    await this.markNow();
  }

  private async markNow(): Promise<void> {
    clearTimeout(this.marking);
    this.marking = undefined;
    const ids = this.published;
    this.published = [];
    if (ids.length > 0) await this.markPublished(ids);
  }

  /**
   * Many jobs of one kind in one statement (a fan-out to many webhook endpoints), published together
   * after commit. Same guarantees as write(); returns the row ids in payload order.
   */
  async writeMany<N extends JobName>(tx: TenantTx, name: N, payloads: Array<JobPayloads[N]>): Promise<string[]> {
    if (payloads.length === 0) return [];
    const ids = payloads.map(() => uuidv7());
    await tx.manager.query(
      `INSERT INTO outbox (id, workspace_id, job_name, payload, published_at)
       SELECT id, $1, $2, payload, NULL FROM unnest($3::uuid[], $4::jsonb[]) AS t(id, payload)`,
      [tx.workspaceId, name, ids, payloads.map((payload) => JSON.stringify(payload))],
    );
    tx.afterCommit(async () => {
      await this.queues.addMany(name, payloads.map((payload, i) => ({ payload, jobId: ids[i]! })));
      await this.markPublished(ids);
    });
    return ids;
  }

  /** Re-publishes rows older than `graceMs` that were never published; returns how many. */
  async relay(graceMs: number, batch = 500): Promise<number> {
    const rows: Array<{ id: string; job_name: string; payload: unknown }> = await this.dataSource.query(
      `SELECT id, job_name, payload FROM ferry_outbox_pending(make_interval(secs => $1), $2)`,
      [graceMs / 1000, batch],
    );
    const published: string[] = [];
    for (const row of rows) {
      if (!isJobName(row.job_name)) continue; // a job from a newer release: leave it for that release
      await this.queues.add(row.job_name, row.payload as JobPayloads[JobName], row.id);
      published.push(row.id);
    }
    if (published.length > 0) await this.markPublished(published);
    return published.length;
  }

  /**
   * Jobs lost after publishing (one died in BullMQ after its last try while Postgres could not record
   * the outcome, or Redis came back empty): their intent is still pending in Postgres `olderThanMs`
   * after the row was written (a reply still queued, a provider event still unprocessed). The job is
   * revived with the same id, unless BullMQ still holds it alive (waiting, delayed, active: a long
   * rate-limit backlog is not stalled). Processors are idempotent, so a job that finished between the
   * query and the check costs one no-op run. Returns how many were revived.
   */
  async recoverStalled(olderThanMs: number, batch = 100): Promise<number> {
    const rows: Array<{ id: string; job_name: string; payload: unknown }> = await this.dataSource.query(
      `SELECT id, job_name, payload FROM ferry_outbox_stalled(make_interval(secs => $1), $2)`,
      [olderThanMs / 1000, batch],
    );
    let revived = 0;
    for (const row of rows) {
      if (!isJobName(row.job_name)) continue;
      const queue = this.queues.get(JOBS[row.job_name].queue);
      const job = await queue.getJob(row.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'failed' && job) {
        await job.retry('failed', { resetAttemptsMade: true });
      } else if (state === 'missing' || state === 'unknown' || state === 'completed') {
        if (job) await job.remove();
        await this.queues.add(row.job_name, row.payload as JobPayloads[JobName], row.id);
      } else {
        continue;
      }
      revived += 1;
    }
    return revived;
  }

  /**
   * Deletes up to `batch` published rows older than `olderThanMs` whose work is no longer pending (a
   * row the relay's recovery may still need is kept: ferry_outbox_prune), in one short transaction;
   * returns how many. A full batch means there may be more: the caller calls again. Answers 0 at
   * once while another process is pruning.
   */
  async prune(olderThanMs: number, batch: number): Promise<number> {
    const rows: Array<{ removed: number }> = await this.dataSource.query(
      `SELECT ferry_outbox_prune(make_interval(secs => $1), $2) AS removed`,
      [olderThanMs / 1000, batch],
    );
    return rows[0]?.removed ?? 0;
  }

  /**
   * Marking is bookkeeping for the relay (which waits OUTBOX_RELAY_GRACE_MS before it touches a row),
   * so rows published within a few milliseconds share one UPDATE. Lost marks (a crash) cost a
   * re-publish under the same job id: a no-op while BullMQ holds the job, an idempotent rerun after.
   */
  private markSoon(id: string): void {
    this.published.push(id);
    this.marking ??= setTimeout(() => void this.markNow().catch(() => undefined), MARK_DELAY_MS);
  }

  private coalesce(job: StagedJob): void {
    const key = `${job.jobName}:${(job.data as { workspaceId?: string }).workspaceId ?? ''}`;
    const group = this.coalescing.get(key);
    if (!group) {
      this.coalescing.set(key, [job]);
    } else {
      group.push(job);
      if (group.length >= COALESCE_MAX) {
        this.coalescing.delete(key);
        void this.publishGroup(group).catch(() => undefined);
      }
    }
    this.coalescingTimer ??= setTimeout(() => void this.publishCoalesced(), COALESCE_DELAY_MS);
  }

  /**
   * Group commit of a coalesced job's publishing ('in-flight'): TenantDb runs a transaction's
   * after-commit effects in one synchronous pass, so a microtask later every row of the commit is
   * here and they go in one job; a lane with a publish in flight takes the rows committed meanwhile
   * into its next one. A lone row at light load waits for nothing but its own add.
   */
  private publishSoon(job: StagedJob): void {
    const key = `${job.jobName}:${(job.data as { workspaceId?: string }).workspaceId ?? ''}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { rows: [], draining: undefined };
      this.lanes.set(key, lane);
    }
    lane.rows.push(job);
    lane.draining ??= this.drain(key, lane, COALESCED_JOBS[job.jobName]?.max ?? COALESCE_MAX);
  }

  private async drain(key: string, lane: { rows: StagedJob[]; draining: Promise<void> | undefined }, max: number): Promise<void> {
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    try {
      while (lane.rows.length > 0) {
        // A publish that fails (Redis down) leaves its rows to the relay, one job each.
        await this.publishGroup(lane.rows.splice(0, max)).catch(() => undefined);
      }
    } finally {
      lane.draining = undefined;
      this.lanes.delete(key);
    }
  }

  private async publishCoalesced(): Promise<void> {
    clearTimeout(this.coalescingTimer);
    this.coalescingTimer = undefined;
    const groups = [...this.coalescing.values()];
    this.coalescing.clear();
    // A group that fails to publish (Redis down) leaves its rows to the relay, one job each.
    await Promise.allSettled(groups.map((group) => this.publishGroup(group)));
  }

  /** One job for `jobs` (rows of one name and workspace): a lone row as itself, several merged (COALESCED_JOBS). */
  private async publishGroup(jobs: StagedJob[]): Promise<void> {
    const first = jobs[0]!;
    const coalescing = COALESCED_JOBS[first.jobName] as Coalescing<JobName> | undefined;
    if (jobs.length === 1 || !coalescing) {
      await this.queues.add(first.jobName, first.data, first.id);
    } else {
      const data = coalescing.merge(jobs.map((job) => ({ id: job.id, data: job.data })));
      await this.queues.add(first.jobName, data, coalescing.jobId === 'fresh' ? uuidv7() : first.id);
    }
    for (const job of jobs) this.markSoon(job.id);
  }

  private async markPublished(ids: string[]): Promise<void> {
    await this.dataSource.query('SELECT ferry_outbox_mark_published($1::uuid[])', [ids]);
  }
}
