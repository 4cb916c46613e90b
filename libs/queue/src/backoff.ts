import { JobRetryable } from './job-handlers.js';
import { JOBS, type JobName } from './job-catalogue.js';

/** The name jobs give their backoff in the catalogue (JOBS) to get this strategy. */
export const JITTERED_BACKOFF = 'jittered';

/** No single wait longer than this, however many tries came before. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * Exponential backoff with "equal jitter": the n-th retry waits between half and all of
 * base * 2^(n-1) (capped), so retries of a burst that failed together (a provider outage) spread
 * out instead of hitting the provider again in lockstep. A provider's Retry-After is a floor.
 * `attemptsMade` counts the failed tries so far (1 after the first failure).
 */
export function retryDelayMs(attemptsMade: number, baseMs: number, error?: unknown, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  const retryAfter = error instanceof JobRetryable ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, retryAfter);
}

/** The wait before the next try of a job of `name` after `attemptsMade` failed tries, by its catalogue backoff (a handler re-queueing part of its work itself). */
export function jobRetryDelayMs(name: JobName, attemptsMade: number, error?: unknown): number {
  const { backoff } = JOBS[name].options;
  return retryDelayMs(attemptsMade, typeof backoff === 'object' ? (backoff.delay ?? 1000) : 1000, error);
}
