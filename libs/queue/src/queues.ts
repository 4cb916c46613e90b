import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { JOBS, type JobName, type JobPayloads, QUEUE_NAMES, type QueueName } from './job-catalogue.js';

/** The producer side of every queue, one BullMQ Queue per kind. */
export class Queues {
  private readonly queues: Map<QueueName, Queue>;

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
  }

  /** Adds a job; `jobId` makes a re-publish of the same outbox row a no-op while the job exists. */
  async add<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string): Promise<void> {
    const definition = JOBS[name];
    await this.get(definition.queue).add(name, payload, { ...definition.options, jobId });
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
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
