import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { Queues, REDIS } from '#queue';

/** Long enough to outlive any wait for a message; the set is gone once it left. */
const WAITERS_TTL_MS = 15 * 60_000;

/**
 * How long a message that left stays known as gone: longer than any claim takes to note its wait
 * (waitFor), so a wait noted just after the release it waited for is not kept.
 */
const LEFT_TTL_MS = 60_000;

/**
 * Wakes the messages that wait for an earlier one of their conversation. A waiting job is delayed
 * by ORDER_WAIT_MS at most; when the message it waits for leaves (sent or failed), its job is
 * promoted at once. A release also leaves a short-lived mark, so a wait noted after it (a claim
 * that saw the message queued just before it left) is told at once instead of waiting it out.
 * Best effort: a wake-up lost (Redis down, a run's own job not yet delayed) costs one wait.
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

  /**
   * Notes that job `jobId` waits for message `blockerId`. False when that message has left already
   * (released since the caller's claim saw it queued): the caller need not wait, but claim again.
   */
  async waitFor(workspaceId: string, blockerId: string, jobId: string): Promise<boolean> {
    const key = this.key(workspaceId, blockerId);
    try {
      const result = await this.redis.multi().sadd(key, jobId).pexpire(key, WAITERS_TTL_MS).exists(`${key}:left`).exec();
      return result?.[2]?.[1] !== 1;
    } catch {
      return true;
    }
  }

  /**
   * Notes the wait of a job already added, delayed (a member of a coalesced send gone on alone):
   * a release from now on promotes it, and one that came before is answered by promoting it here.
   */
  async park(workspaceId: string, blockerId: string, jobId: string): Promise<void> {
    if (!(await this.waitFor(workspaceId, blockerId, jobId))) await this.promote([jobId]);
  }

  /** Message `messageId` has left the queue: its waiters check again now. */
  async release(workspaceId: string, messageId: string): Promise<void> {
    try {
      const key = this.key(workspaceId, messageId);
      const result = await this.redis.multi().smembers(key).del(key).set(`${key}:left`, '1', 'PX', LEFT_TTL_MS).exec();
      await this.promote((result?.[0]?.[1] as string[] | undefined) ?? []);
    } catch {
      // The waiters wake up on their own after ORDER_WAIT_MS.
    }
  }

  private async promote(jobIds: string[]): Promise<void> {
    const outbound = this.queues.get('outbound');
    // One promotion losing a race (the job just woke up) does not stop the others.
    await Promise.allSettled(
      jobIds.map(async (jobId) => {
        const job = await outbound.getJob(jobId);
        if (job && (await job.isDelayed())) await job.promote();
      }),
    );
  }

  private key(workspaceId: string, messageId: string): string {
    return `${this.prefix}:${workspaceId}:${messageId}`;
  }
}
