import { JOBS, jobsOn, type JobName, type JobPayloads, type QueueName } from './job-catalogue.js';

/** What a handler knows about the job it runs, beyond the payload. */
export interface JobContext {
  /** The BullMQ job id: the outbox row id, stable across retries and re-publishes. */
  jobId: string;
  /** 1 on the first try. */
  attempt: number;
  /** Tries the job gets in all (JOBS options); on the last one a handler records the failure itself. */
  maxAttempts: number;
}

/**
 * Thrown by a handler that cannot run the job yet (an earlier message still going out, a rate
 * limit, a receipt awaited): the worker puts the job back, delayed, without spending a try.
 */
export class JobDeferred extends Error {
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'JobDeferred';
  }
}

/**
 * Thrown by a handler whose try failed for a reason that may pass (a provider timeout, a 5xx, a 429):
 * the worker retries with backoff and jitter, waiting at least `retryAfterMs` when the provider said so.
 * Any other Error is retried the same way; a DomainError that is not about availability is not.
 */
export class JobRetryable extends Error {
  constructor(
    reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(reason);
    this.name = 'JobRetryable';
  }
}

/** Runs one job. Jobs are at-least-once: a handler must be idempotent. */
export type JobHandler<N extends JobName> = (payload: JobPayloads[N], context: JobContext) => Promise<void>;

/**
 * The handlers a worker process registers, keyed by job name. Partial on purpose: a process consumes
 * some queues, and assertHandlers() holds it to a handler for every job on each of them.
 */
export type JobHandlers = { [N in JobName]?: JobHandler<N> };

export class JobHandlersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobHandlersError';
  }
}

/**
 * The catalogue rule "the worker refuses to start if a job has no handler": every job routed to a
 * consumed queue needs a handler, and every handler must be for a known job on a consumed queue
 * (otherwise it would never run). Throws naming the offending jobs.
 */
export function assertHandlers(consumed: readonly QueueName[], handlers: JobHandlers): void {
  const queues = new Set(consumed);
  const missing = [...queues].flatMap((queue) => jobsOn(queue)).filter((name) => typeof handlers[name] !== 'function');
  if (missing.length > 0) {
    throw new JobHandlersError(
      `No handler for job ${missing.map((name) => `"${name}" (queue ${JOBS[name].queue})`).join(', ')}: the worker cannot start`,
    );
  }
  for (const name of Object.keys(handlers)) {
    if (!Object.hasOwn(JOBS, name)) throw new JobHandlersError(`Handler for unknown job "${name}"`);
    const queue = JOBS[name as JobName].queue;
    if (!queues.has(queue)) {
      throw new JobHandlersError(`Handler for job "${name}" but its queue ${queue} is not consumed: it would never run`);
    }
  }
}
