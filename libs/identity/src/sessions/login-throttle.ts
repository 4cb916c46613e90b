import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError } from '#domain';
import { REDIS } from '#queue';

/**
 * Failed logins counted in Redis (shared by every API instance), per lower-cased email and per
 * client IP, each in a fixed window opened by its first failure. Past the limit, every attempt is
 * refused with Retry-After until the window closes, even with the right password: otherwise the
 * 429 itself would tell a guesser when they had found it.
 */
@Injectable()
export class LoginThrottle {
  private readonly logger = new Logger(LoginThrottle.name);

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  /** Throws `auth.too_many_attempts` when either counter is at the limit. */
  async assertAllowed(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip);
    let counts: Array<string | null>;
    try {
      counts = await this.redis.mget(keys);
    } catch (error) {
      // Redis unreachable: fail open like the API rate limiter; /health/ready reports the outage.
      this.logger.warn(`Login throttle unavailable: ${(error as Error).message}`);
      return;
    }
    const limit = this.config.auth.loginMaxAttempts;
    const blocked = keys.filter((_, index) => Number(counts[index] ?? 0) >= limit);
    if (blocked.length === 0) return;
    const ttls = await Promise.all(blocked.map((key) => this.redis.ttl(key).catch(() => -1)));
    const retryAfterSeconds = Math.max(1, ...ttls);
    throw new DomainError('auth.too_many_attempts', 'rate_limited', 'Too many failed logins; try again later', {
      retryAfterSeconds,
    });
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const window = this.config.auth.loginWindowSeconds;
    const pipeline = this.redis.multi();
    for (const key of this.keys(email, ip)) pipeline.set(key, 0, 'EX', window, 'NX').incr(key);
    await pipeline.exec().catch((error: unknown) => this.logger.warn(`Login throttle unavailable: ${(error as Error).message}`));
  }

  /** A successful login clears the email's count (not the IP's: one office shares an address). */
  async recordSuccess(email: string): Promise<void> {
    await this.redis.del(this.emailKey(email)).catch(() => undefined);
  }

  private keys(email: string, ip: string): [string, string] {
    return [this.emailKey(email), `${this.config.redis.keyPrefix}:login:ip:${ip}`];
  }

  // Hashed so the Redis keyspace does not list who tried to log in.
  private emailKey(email: string): string {
    const digest = createHash('sha256').update(email.toLowerCase()).digest('hex');
    return `${this.config.redis.keyPrefix}:login:email:${digest}`;
  }
}
