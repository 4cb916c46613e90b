import { describe, expect, it } from 'vitest';
import { DISABLE_AFTER_FAILING_MS, failedTooLong, MAX_ATTEMPTS, retryDelayMs } from './webhook-schedule.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('the webhook retry schedule', () => {
  it('waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failed try, then gives up after 8 tries', () => {
    const midpoint = [1, 2, 3, 4, 5, 6, 7].map((tries) => retryDelayMs(tries, 1, 0.5));
    expect(midpoint).toEqual([5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H]);
    expect(MAX_ATTEMPTS).toBe(8);
    expect(retryDelayMs(8, 1, 0.5)).toBeNull();
  });

  it('jitters each delay by at most 10 %', () => {
    expect(retryDelayMs(2, 1, 0)).toBe(0.9 * 5 * M);
    expect(retryDelayMs(2, 1, 0.999999)).toBeCloseTo(1.1 * 5 * M, -1);
    const samples = Array.from({ length: 200 }, () => retryDelayMs(1, 1)!);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(4500);
    expect(Math.max(...samples)).toBeLessThanOrEqual(5500);
    expect(new Set(samples).size).toBeGreaterThan(10);
  });

  it('compresses with the time scale', () => {
    expect(retryDelayMs(7, 0.001, 0.5)).toBe(36_000);
  });

  it('disables after 5 days of failure, scaled the same way', () => {
    const since = new Date('2026-03-01T00:00:00Z');
    expect(failedTooLong(since, new Date(since.getTime() + DISABLE_AFTER_FAILING_MS - 1), 1)).toBe(false);
    expect(failedTooLong(since, new Date(since.getTime() + 5 * 24 * H), 1)).toBe(true);
    expect(failedTooLong(since, new Date(since.getTime() + 432_000), 0.001)).toBe(true);
  });
});
