import { Controller, Get, Header, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { TenantDb } from '#database';
import { REDIS } from '#queue';
import { Public } from '../auth/auth.decorators.js';
import { Metrics } from './metrics.js';

/** Liveness, readiness (database and Redis) and Prometheus metrics. */
@ApiExcludeController()
@Public()
@Controller()
export class OpsController {
  constructor(
    private readonly db: TenantDb,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly metrics: Metrics,
  ) {}

  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: string; checks: Record<string, string> }> {
    const [database, redis] = await Promise.all([
      this.db.ping().then(() => 'ok', () => 'down'),
      this.redis.ping().then(() => 'ok', () => 'down'),
    ]);
    const ok = database === 'ok' && redis === 'ok';
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks: { database, redis } };
  }

  @Get('metrics')
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
