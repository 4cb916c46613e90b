import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError } from '#domain';
import { REDIS } from '#queue';

const WINDOW_SECONDS = 60;
/** How long a caller's local count may wait before it is added to the shared one. */
const FLUSH_MS = 50;
/** Below this share of its limit (as last known plus local), a caller is counted in memory. */
const LOCAL_SHARE = 0.5;

/** One caller's count in one window, as this process knows it. */
interface Tally {
  /** The shared count Redis last answered. */
  known: number;
  /** Counted here, being added to Redis now. */
  inFlight: number;
  /** Counted here, not sent yet. */
  pending: number;
}

/**
 * A fixed one-minute window per caller in Redis, shared by every API instance. Answers the
 * RateLimit-* headers on every authenticated response, and 429 with Retry-After past the limit.
 *
 * A Redis round trip per request is a good share of a cheap request's cost, so a caller well below
 * its limit (under half of it, as last known) is counted in memory and its count added to Redis
 * every FLUSH_MS, every such caller's in one write; nearer the limit every request is counted in
 * Redis, exactly. Other instances' requests are then seen up to FLUSH_MS late, far from the limit only.
 */
@Injectable()
export class RateLimiter {
  private readonly tallies = new Map<string, Tally>();
  private window = 0;
  private flushing: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  async consume(subject: string, reply: FastifyReply): Promise<void> {
    const limit = this.config.rateLimit.perMinute;
    const window = Math.floor(Date.now() / 1000 / WINDOW_SECONDS);
    if (window !== this.window) this.startWindow(window);
    const key = `${this.config.redis.keyPrefix}:rl:${subject}:${window}`;
    let tally = this.tallies.get(key);
    let count: number;
    if (tally && tally.known + tally.inFlight + tally.pending + 1 <= limit * LOCAL_SHARE) {
      tally.pending += 1;
      count = tally.known + tally.inFlight + tally.pending;
      this.flushing ??= setTimeout(() => void this.flush(), FLUSH_MS).unref();
    } else {
      const local = tally ? tally.pending : 0;
      if (tally) tally.pending = 0;
      try {
        const results = await this.redis.multi().incrby(key, local + 1).expire(key, WINDOW_SECONDS * 2).exec();
        count = Number(results?.[0]?.[1] ?? 0);
      } catch {
        return; // Redis unreachable: fail open; /health/ready reports the outage.
      }
      tally = this.tallies.get(key);
      if (tally) tally.known = Math.max(tally.known, count);
      else if (this.window === window) this.tallies.set(key, { known: count, inFlight: 0, pending: 0 });
    }
    const reset = (window + 1) * WINDOW_SECONDS - Math.floor(Date.now() / 1000);
    void reply.header('RateLimit-Limit', String(limit));
    void reply.header('RateLimit-Remaining', String(Math.max(0, limit - count)));
    void reply.header('RateLimit-Reset', String(reset));
    if (count > limit) {
      throw new DomainError('rate_limit.exceeded', 'rate_limited', `More than ${limit} requests a minute`, {
        retryAfterSeconds: reset,
      });
    }
  }

  /** Adds every caller's local count to the shared one, in one write. */
  private async flush(): Promise<void> {
    this.flushing = undefined;
    const sending = [...this.tallies].filter(([, tally]) => tally.pending > 0).map(([key, tally]) => ({ key, tally, count: tally.pending }));
    if (sending.length === 0) return;
    const multi = this.redis.multi();
    for (const { key, tally, count } of sending) {
      tally.pending = 0;
      tally.inFlight += count;
      multi.incrby(key, count).expire(key, WINDOW_SECONDS * 2);
    }
    try {
      const results = await multi.exec();
      sending.forEach(({ tally }, i) => (tally.known = Math.max(tally.known, Number(results?.[2 * i]?.[1] ?? 0))));
    } catch {
      // Redis unreachable: these requests go uncounted, as they would have failed open.
    } finally {
      for (const { tally, count } of sending) tally.inFlight -= count;
    }
  }

  /** A new minute: the previous window's local counts are flushed and forgotten. */
  private startWindow(window: number): void {
    this.window = window;
    clearTimeout(this.flushing);
    const previous = [...this.tallies.keys()];
    void this.flush().finally(() => previous.forEach((key) => this.tallies.delete(key)));
  }
}
