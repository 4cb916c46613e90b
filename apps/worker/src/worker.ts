import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { FerryConfig } from '#config';
import type { AdapterLookup } from '#messaging';
import { assertHandlers, QUEUE_NAMES, Queues, REDIS } from '#queue';
import { Consumers } from './consumers.js';
import { JOB_REGISTRY, type JobRegistry } from './job-registry.js';
import { PinoNestLogger } from '#logging';
import { WorkerModule } from './worker.module.js';

/** What tests may swap: the queues and handlers, and the channel adapters (fakes). */
export interface WorkerOptions {
  registry?: JobRegistry;
  adapters?: AdapterLookup;
}

/**
 * Builds the worker's application context (connections open, nothing running yet). main() and the
 * tests share this one path; main() then starts the consumers and the relay. Refuses (closes what it
 * opened and throws JobHandlersError) when a job of a consumed queue has no handler.
 */
export async function createWorker(config: FerryConfig, logger: Logger, options: WorkerOptions = {}): Promise<INestApplicationContext> {
  const registry = options.registry ?? JOB_REGISTRY;
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger, options.adapters), {
    logger: new PinoNestLogger(logger),
  });
  try {
    const handlers = registry.handlers(app);
    assertHandlers(registry.queues, handlers);
    app.get(Consumers).bind(registry.queues, handlers);
  } catch (error) {
    await app.close();
    throw error;
  }
  watchRedis(app, logger);
  return app;
}

/**
 * Redis errors are logged, never thrown (without listeners ioredis and BullMQ print every reconnect
 * attempt to stderr). The outage is reported once, on the command connection, and so is its end.
 */
function watchRedis(app: INestApplicationContext, logger: Logger): void {
  const redis = app.get<Redis>(REDIS);
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger.warn({ err: error }, 'redis unreachable; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis reachable again');
    down = false;
  });
  // The queues share one connection to the same Redis: their errors are the outage reported above.
  const queues = app.get(Queues);
  for (const name of QUEUE_NAMES) {
    queues.get(name).on('error', (error) => logger.debug({ err: error, queue: name }, 'queue connection error'));
  }
}
