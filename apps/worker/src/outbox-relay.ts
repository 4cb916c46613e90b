import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONFIG, type FerryConfig } from '#config';
import { Outbox, REDIS } from '#queue';
import { WORKER_LOGGER } from './logger.js';

export type RelayResult = { ok: true; published: number } | { ok: false; error: string };

/** How long shutdown waits for a relay run in progress before closing its connections anyway. */
const STOP_GRACE_MS = 10_000;

/**
 * Re-publishes outbox rows that were committed but never reached BullMQ (Redis down at commit, a
 * crash between commit and publish). Runs every `outbox.relayIntervalMs`, one run at a time: the next
 * run is scheduled only when the previous one has finished. A failing run (Postgres or Redis down) is
 * logged and the loop goes on; the rows stay pending in Postgres until a run succeeds.
 */
@Injectable()
export class OutboxRelay implements BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<RelayResult> | undefined;
  private stopped = true;
  /** Bumped by every start(), so a loop left over from before a stop() never reschedules itself. */
  private generation = 0;
  private failing: string | undefined;
  private lastRecovery = 0;
  /** Completed runs, successful or not (for health checks and tests). */
  runs = 0;

  constructor(
    private readonly outbox: Outbox,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(WORKER_LOGGER) private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.generation += 1;
    // The first run waits one interval too, so the connections opened at boot are up by then.
    this.schedule(this.config.outbox.relayIntervalMs, this.generation);
  }

  /** Stops the loop and waits (up to STOP_GRACE_MS) for a run in progress to finish. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.current) return;
    let deadline: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      deadline = setTimeout(() => resolve('expired'), graceMs);
    });
    const outcome = await Promise.race([this.current, expired]);
    clearTimeout(deadline);
    if (outcome === 'expired') this.logger.warn('outbox relay still running at shutdown; closing its connections');
  }

  /** After the consumers have stopped (onModuleDestroy), before the connections close (onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** One relay run. Never throws. A run already in progress is awaited, never doubled. */
  runOnce(): Promise<RelayResult> {
    this.current ??= this.relay().finally(() => {
      this.current = undefined;
      this.runs += 1;
    });
    return this.current;
  }

  private schedule(delayMs: number, generation: number): void {
    if (this.stopped || generation !== this.generation) return;
    this.timer = setTimeout(() => {
      void this.runOnce().then(() => this.schedule(this.config.outbox.relayIntervalMs, generation));
    }, delayMs);
  }

  /** At most once a minute (or once per stall period, if shorter): revive jobs lost after publishing. */
  private async recoverStalled(): Promise<void> {
    const every = Math.min(60_000, this.config.outbox.stalledAfterMs);
    if (Date.now() - this.lastRecovery < every) return;
    this.lastRecovery = Date.now();
    const revived = await this.outbox.recoverStalled(this.config.outbox.stalledAfterMs);
    if (revived > 0) this.logger.warn({ revived }, 'revived jobs lost after publishing');
  }

  private async relay(): Promise<RelayResult> {
    try {
      // The queue connection waits for Redis indefinitely; ask the fail-fast one first so a Redis
      // outage ends this run at once instead of holding it (and shutdown) until Redis returns.
      if (this.redis.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.status})`);
      await this.redis.ping();
      const published = await this.outbox.relay(this.config.outbox.relayGraceMs);
      await this.recoverStalled();
      if (this.failing) this.logger.info('outbox relay recovered');
      this.failing = undefined;
      if (published > 0) this.logger.info({ published }, 'outbox relay published pending jobs');
      return { ok: true, published };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The first failure of an outage (or a new kind of failure) is a warning; repeats are debug,
      // so a long outage does not flood the log.
      this.logger[this.failing === message ? 'debug' : 'warn']({ err: error }, 'outbox relay run failed; will retry');
      this.failing = message;
      return { ok: false, error: message };
    }
  }
}
