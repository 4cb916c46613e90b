import { describe, expect, it } from 'vitest';
import { JOBS } from './job-catalogue.js';
import { JobRetryable } from './job-handlers.js';
import { JITTERED_BACKOFF, MAX_BACKOFF_MS, retryDelayMs } from './backoff.js';

describe('retryDelayMs', () => {
  it('doubles the ceiling with every failed try and stays between half of it and all of it', () => {
    for (const [attemptsMade, ceiling] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [6, 32_000],
    ] as const) {
      expect(retryDelayMs(attemptsMade, 1000, undefined, () => 0)).toBe(ceiling / 2);
      expect(retryDelayMs(attemptsMade, 1000, undefined, () => 0.999_999)).toBe(ceiling);
      const sampled = retryDelayMs(attemptsMade, 1000);
      expect(sampled).toBeGreaterThanOrEqual(ceiling / 2);
      expect(sampled).toBeLessThanOrEqual(ceiling);
    }
  });

  it('spreads retries of the same try apart (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, 1000)));
    expect(delays.size).toBeGreaterThan(1);
  });

  it('never waits longer than the cap, however many tries failed', () => {
    expect(retryDelayMs(40, 1000, undefined, () => 0.999_999)).toBe(MAX_BACKOFF_MS);
    expect(retryDelayMs(40, 1000, undefined, () => 0)).toBe(MAX_BACKOFF_MS / 2);
  });

  it("waits at least as long as the provider's Retry-After", () => {
    expect(retryDelayMs(1, 1000, new JobRetryable('429', 45_000), () => 0.5)).toBe(45_000);
    expect(retryDelayMs(3, 1000, new JobRetryable('429', 100), () => 0)).toBe(2000);
    expect(retryDelayMs(1, 1000, new Error('boom'), () => 0)).toBe(500);
  });

  it('is the backoff message.send asks for in the catalogue', () => {
    expect(JOBS['message.send'].options.backoff).toMatchObject({ type: JITTERED_BACKOFF });
  });
});
