/*
 * The published delivery policy (API.md, README, OpenAPI): a failed delivery is tried again after
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (8 tries in about 27.6 hours), each delay with ±10 %
 * jitter so endpoints that failed together are not retried in lockstep. An endpoint that answers
 * 410 Gone is disabled at once; one whose deliveries have failed without a success for 5 days is
 * disabled too. WEBHOOK_RETRY_SCALE multiplies every delay here (tests compress the clock).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Delay before try n+1 (index n), after try n failed; index 0 is the first try, at once. */
export const RETRY_SCHEDULE_MS: readonly number[] = [0, 5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length;

/** Failing without a single success for this long disables the endpoint. */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * HOUR;

export const JITTER = 0.1;

export const RETRY_SCHEDULE_DESCRIPTION =
  'Each delivery is tried at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (±10 % jitter): 8 tries over about 27.6 hours. ' +
  'Only a 2xx answer within 15 s is a success; redirects are not followed (a 3xx is a failure). ' +
  'A 410 Gone disables the endpoint at once; an endpoint failing without a success for 5 days is disabled. ' +
  'A disabled endpoint shows disabledAt and disabledReason; PATCH {"enabled": true} turns it back on.';

/**
 * How long to wait after failed try number `attemptsMade` (1-based) before the next, or null when
 * that was the last try. `random` in [0, 1).
 */
export function retryDelayMs(attemptsMade: number, scale: number, random: number = Math.random()): number | null {
  const base = RETRY_SCHEDULE_MS[attemptsMade];
  if (base === undefined) return null;
  return Math.round(base * scale * (1 - JITTER + 2 * JITTER * random));
}

/** Whether an endpoint failing since `failingSince` has failed long enough to be disabled at `now`. */
export function failedTooLong(failingSince: Date, now: Date, scale: number): boolean {
  return now.getTime() - failingSince.getTime() >= DISABLE_AFTER_FAILING_MS * scale;
}
