import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CONFIG, type FerryConfig } from '#config';
import { Outbox, REDIS } from '#queue';
import { WORKER_LOGGER } from './logger.js';

export type RelayResult = { ok: true; published: number } | { ok: false; error: string };

/** How long shutdown waits for a relay run in progress before closing its connections anyway. */
const STOP_GRACE_MS = 10_000;
/** How long one run may spend pruning (the next run goes on with what is left). */
const PRUNE_BUDGET_MS = 500;

/**
 * Re-publishes outbox rows that were committed but never reached BullMQ (Redis down at commit, a
 * crash between commit and publish). Runs every `outbox.relayIntervalMs`, one run at a time: the next
 * run is scheduled only when the previous one has finished. A failing run (Postgres or Redis down) is
 * logged and the loop goes on; the rows stay pending in Postgres until a run succeeds. Each run also
 * prunes the outbox when its interval has passed (prune()).
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
  private lastPrune = 0;
  /** The prune in progress was cut short by PRUNE_BUDGET_MS: the next run goes on with it. */
  private pruning: { removed: number; batches: number; startedAt: number } | undefined;
  private pruneFailing: string | undefined;
  /** Completed runs, successful or not (for health checks and tests). */
  runs = 0;
  /** Outbox rows this process has pruned (for health checks and tests). */
  pruned = 0;

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
    this.current ??= this.run().finally(() => {
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

  private async run(): Promise<RelayResult> {
    const result = await this.relay();
    await this.prune();
    return result;
  }

  /**
   * Deletes published rows older than OUTBOX_RETENTION_MS whose work is done (Outbox.prune), once per
   * OUTBOX_PRUNE_INTERVAL_MS: batch after batch while they come back full, each its own short
   * transaction. A run spends at most PRUNE_BUDGET_MS on it, so a backlog (the first prune of a large
   * table) never holds up the relay: the next runs go on with it, one relay interval apart. Every
   * worker prunes; the database lets one do it at a time (the others' calls answer 0 at once). Needs
   * no Redis, so it goes on through a Redis outage. Never throws.
   */
  private async prune(): Promise<void> {
    const { pruneIntervalMs, retentionMs, pruneBatch } = this.config.outbox;
    if (pruneIntervalMs === 0) return;
    if (!this.pruning && Date.now() - this.lastPrune < pruneIntervalMs) return;
    const startedAt = Date.now();
    this.lastPrune = startedAt;
    const pass = (this.pruning ??= { removed: 0, batches: 0, startedAt });
    try {
      let removed: number;
      do {
        removed = await this.outbox.prune(retentionMs, pruneBatch);
        pass.removed += removed;
        pass.batches += 1;
        this.pruned += removed;
      } while (removed === pruneBatch && Date.now() - startedAt < PRUNE_BUDGET_MS);
      if (this.pruneFailing) this.logger.info('outbox prune recovered');
      this.pruneFailing = undefined;
      if (removed === pruneBatch) {
        this.logger.debug({ removed: pass.removed }, 'outbox prune goes on at the next run');
        return;
      }
      this.pruning = undefined;
      if (pass.removed > 0) {
        this.logger.info({ removed: pass.removed, batches: pass.batches, ms: Date.now() - pass.startedAt }, 'outbox pruned published jobs');
      }
    } catch (error) {
      this.pruning = undefined;
      const message = error instanceof Error ? error.message : String(error);
      this.logger[this.pruneFailing === message ? 'debug' : 'warn']({ err: error, removed: pass.removed }, 'outbox prune failed; will retry');
      this.pruneFailing = message;
    }
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
