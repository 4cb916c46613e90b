import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { TurnBatch } from '#database';
import { JOBS, type JobName, type JobPayloads, QUEUE_NAMES, type QueueName } from './job-catalogue.js';

/** A job add() was given. */
interface Add {
  name: JobName;
  data: unknown;
  opts: JobsOptions;
}

/** The producer side of every queue, one BullMQ Queue per kind. */
export class Queues {
  private readonly queues: Map<QueueName, Queue>;
  /** Per queue, the jobs added in one turn of the event loop, sent together. */
  private readonly adds: Map<QueueName, TurnBatch<Add, unknown>>;

  constructor(connection: Redis, config: FerryConfig) {
    this.queues = new Map(
      QUEUE_NAMES.map((name) => {
        const queue = new Queue(name, { connection, prefix: config.redis.keyPrefix });
        // A Redis outage surfaces as the failed add() or count that the caller handles; without a
        // listener BullMQ would also print each connection error.
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    );
    this.adds = new Map(
      [...this.queues].map(([name, queue]) => [
        name,
        new TurnBatch<Add, unknown>((adds) => (adds.length === 1 ? queue.add(adds[0]!.name, adds[0]!.data, adds[0]!.opts).then((job) => [job]) : queue.addBulk(adds))),
      ]),
    );
  }

  /**
   * Adds a job; `jobId` makes a re-publish of the same outbox row a no-op while the job exists.
   * The jobs added to a queue in one turn of the event loop (the publishes of requests whose commits
   * arrived together) go to Redis in one write: a write to another process is a good share of a
   * cheap request's cost. If that write fails, every add in it fails, and each caller's outbox row
   * waits for the relay, as with any failed publish.
   */
  async add<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string): Promise<void> {
    const definition = JOBS[name];
    await this.adds.get(definition.queue)!.submit({ name, data: payload, opts: { ...definition.options, jobId } });
  }

  /**
   * Adds many jobs of one kind in one round trip (each with its outbox row id as job id), optionally
   * delayed or with fewer tries than the catalogue's (a job taking over from one that spent some).
   */
  async addMany<N extends JobName>(name: N, jobs: Array<{ payload: JobPayloads[N]; jobId: string; delayMs?: number; attempts?: number }>): Promise<void> {
    const definition = JOBS[name];
    await this.get(definition.queue).addBulk(
      jobs.map((job) => ({
        name,
        data: job.payload,
        opts: { ...definition.options, jobId: job.jobId, ...(job.delayMs ? { delay: job.delayMs } : {}), ...(job.attempts ? { attempts: job.attempts } : {}) },
      })),
    );
  }

  get(name: QueueName): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`Unknown queue ${name}`);
    return queue;
  }

  /** Waiting + delayed + active jobs per queue, for /metrics. */
  async depths(): Promise<Record<QueueName, number>> {
    const entries = await Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const counts = await this.get(name).getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        return [name, Object.values(counts).reduce((sum, n) => sum + n, 0)] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<QueueName, number>;
  }

  async close(): Promise<void> {
    for (const adds of this.adds.values()) adds.flushNow();
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
