import { Inject, Injectable, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError } from '#domain';
import { createRedis, isJobName, type JobContext, JobDeferred, type JobHandlers, JOBS, type QueueName, retryDelayMs } from '#queue';
import { WORKER_LOGGER } from './logger.js';

/** How long shutdown lets active jobs finish before it closes the connections under them. */
export const CLOSE_GRACE_MS = 15_000;

/**
 * How often a job may be found abandoned (its worker died holding it) before BullMQ gives up on it.
 * High on purpose: a worker killed again and again must not fail messages that did nothing wrong,
 * and every handler is safe to run again.
 */
const MAX_STALLED_COUNT = 25;

/** A DomainError about availability may pass; any other (not found, invalid...) never will. */
const TRANSIENT_KINDS: ReadonlySet<DomainError['kind']> = new Set(['unavailable', 'rate_limited']);

/** A handler, with the payload type erased: the job name was checked against the catalogue first. */
type AnyHandler = (payload: unknown, context: JobContext) => Promise<void>;

/**
 * The BullMQ consumers: one Worker per consumed queue, all on one `consumer` connection (BullMQ
 * opens a blocking connection per Worker beside it), with the producers' key prefix. Each job is
 * dispatched by name to its handler; what the handler throws decides what happens next:
 * - JobDeferred: back to the queue, delayed, without spending a try (order, rate limit, receipt);
 * - a permanent DomainError: failed at once (UnrecoverableError), never retried;
 * - anything else (JobRetryable, a database hiccup): retried with jittered exponential backoff.
 * A bad job fails alone; nothing a job does stops the worker.
 */
@Injectable()
export class Consumers implements OnModuleDestroy, OnApplicationShutdown {
  private queues: readonly QueueName[] = [];
  private handlers: JobHandlers = {};
  private readonly workers = new Map<QueueName, Worker>();
  private connection: Redis | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(WORKER_LOGGER) private readonly logger: Logger,
  ) {}

  /** The queues to consume and their handlers, checked by assertHandlers before they get here. */
  bind(queues: readonly QueueName[], handlers: JobHandlers): void {
    this.queues = queues;
    this.handlers = handlers;
  }

  /** Starts consuming every bound queue. */
  start(): void {
    if (this.workers.size > 0) return;
    this.connection ??= createRedis(this.config, 'consumer');
    for (const queue of this.queues) {
      const worker = new Worker(queue, (job, token) => this.process(queue, job, token), {
        connection: this.connection,
        prefix: this.config.redis.keyPrefix,
        concurrency: this.config.worker.concurrency[queue],
        lockDuration: this.config.worker.lockDurationMs,
        stalledInterval: this.config.worker.lockDurationMs,
        maxStalledCount: MAX_STALLED_COUNT,
        settings: {
          // BullMQ asks this for every backoff type it does not know itself: JITTERED_BACKOFF in the catalogue.
          backoffStrategy: (attemptsMade, _type, error, job) => {
            const base = typeof job?.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 1000) : 1000;
            return retryDelayMs(attemptsMade, base, error);
          },
        },
      });
      worker.on('error', (error) => this.logger.debug({ err: error, queue }, 'consumer connection error'));
      worker.on('failed', (job, error) => {
        const final = !job || error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
        this.logger[final ? 'warn' : 'debug'](
          { queue, job: job?.name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: error },
          final ? 'job failed for good' : 'job failed; will retry',
        );
      });
      this.workers.set(queue, worker);
    }
  }

  /** Whether any queue is being consumed (health, tests). */
  get running(): boolean {
    return [...this.workers.values()].some((worker) => worker.isRunning());
  }

  /**
   * Stops taking jobs and lets the active ones finish, for at most `graceMs`. A job still running
   * then loses its connection: its lock expires and another worker runs it again (handlers are
   * idempotent, and delivery resolves a send left in doubt before resending).
   */
  async stop(graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (this.workers.size === 0) return;
    const closing = Promise.all([...this.workers.values()].map((worker) => worker.close()));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), graceMs);
    });
    const outcome = await Promise.race([closing, expired]);
    clearTimeout(timer);
    if (outcome === 'expired') this.logger.warn({ graceMs }, 'jobs still running at shutdown; leaving them to be taken over');
    this.workers.clear();
  }

  /** First in the shutdown: no new jobs, active ones finish (the relay and connections close after). */
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  onApplicationShutdown(): void {
    this.connection?.disconnect();
    this.connection = undefined;
  }

  private async process(queue: QueueName, job: Job, token: string | undefined): Promise<void> {
    const name = job.name;
    const handler = isJobName(name) && JOBS[name].queue === queue ? (this.handlers[name] as AnyHandler | undefined) : undefined;
    if (!handler) throw new UnrecoverableError(`No handler for job "${name}" on queue ${queue}`);
    const context: JobContext = { jobId: job.id ?? '', attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 };
    try {
      await handler(job.data, context);
    } catch (error) {
      if (error instanceof JobDeferred) {
        await job.moveToDelayed(Date.now() + error.delayMs, token);
        this.logger.debug({ queue, job: name, jobId: job.id, delayMs: error.delayMs, reason: error.message }, 'job deferred');
        throw new DelayedError(error.message);
      }
      if (error instanceof DomainError && !TRANSIENT_KINDS.has(error.kind)) {
        throw new UnrecoverableError(`${error.code}: ${error.message}`);
      }
      throw error;
    }
  }
}
