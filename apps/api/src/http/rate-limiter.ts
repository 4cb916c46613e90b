import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError } from '#domain';
import { REDIS } from '#queue';

const WINDOW_SECONDS = 60;

/**
 * A fixed one-minute window per caller in Redis, shared by every API instance. Answers the
 * RateLimit-* headers on every authenticated response, and 429 with Retry-After past the limit.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  async consume(subject: string, reply: FastifyReply): Promise<void> {
    const limit = this.config.rateLimit.perMinute;
    const window = Math.floor(Date.now() / 1000 / WINDOW_SECONDS);
    const key = `${this.config.redis.keyPrefix}:rl:${subject}:${window}`;
    let count: number;
    try {
      const results = await this.redis.multi().incr(key).expire(key, WINDOW_SECONDS * 2).exec();
      count = Number(results?.[0]?.[1] ?? 0);
    } catch {
      return; // Redis unreachable: fail open; /health/ready reports the outage.
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
}
