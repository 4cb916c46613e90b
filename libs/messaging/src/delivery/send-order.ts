import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { Queues, REDIS } from '#queue';

/** Long enough to outlive any wait for a message; the set is gone once it left. */
const WAITERS_TTL_MS = 15 * 60_000;

/**
 * Wakes the messages that wait for an earlier one of their conversation. A waiting job is delayed
 * by ORDER_WAIT_MS at most; when the message it waits for leaves (sent or failed), its job is
 * promoted at once. Best effort: a wake-up lost (Redis down, a race with the delay) costs one wait.
 */
@Injectable()
export class SendOrder {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly queues: Queues,
    @Inject(CONFIG) config: FerryConfig,
  ) {
    this.prefix = `${config.redis.keyPrefix}:delivery:waiting`;
  }

  /** Notes that job `jobId` waits for message `blockerId`. */
  async waitFor(workspaceId: string, blockerId: string, jobId: string): Promise<void> {
    const key = this.key(workspaceId, blockerId);
    await this.redis
      .multi()
      .sadd(key, jobId)
      .pexpire(key, WAITERS_TTL_MS)
      .exec()
      .catch(() => undefined);
  }

  /** Message `messageId` has left the queue: its waiters check again now. */
  async release(workspaceId: string, messageId: string): Promise<void> {
    try {
      const key = this.key(workspaceId, messageId);
      const result = await this.redis.multi().smembers(key).del(key).exec();
      const jobIds = (result?.[0]?.[1] as string[] | undefined) ?? [];
      const outbound = this.queues.get('outbound');
      // One promotion losing a race (the job just woke up) does not stop the others.
      await Promise.allSettled(
        jobIds.map(async (jobId) => {
          const job = await outbound.getJob(jobId);
          if (job && (await job.isDelayed())) await job.promote();
        }),
      );
    } catch {
      // The waiters wake up on their own after ORDER_WAIT_MS.
    }
  }

  private key(workspaceId: string, messageId: string): string {
    return `${this.prefix}:${workspaceId}:${messageId}`;
  }
}
