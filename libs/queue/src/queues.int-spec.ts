import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { uuidv7 } from '#domain';
import { testConfig } from '#testing';
import { createRedis } from './redis.js';
import { Queues } from './queues.js';

describe('Queues.add: the jobs added in one turn of the event loop go to Redis together', () => {
  let queues: Queues;
  let redis: ReturnType<typeof createRedis>;

  beforeAll(async () => {
    const config = await testConfig({ REDIS_PREFIX: `ferry-test-queues-${process.pid}` });
    redis = createRedis(config, 'commands');
    queues = new Queues(redis, config);
  });
  afterAll(async () => {
    await queues?.get('webhooks').obliterate({ force: true });
    await queues?.close();
    redis?.disconnect();
  });

  const deliver = (jobId: string): Promise<void> => queues.add('webhook.deliver', { workspaceId: uuidv7(), deliveryId: uuidv7() }, jobId);

  it('sends one bulk add for a turn, each job under its own id, and a later turn on its own', async () => {
    const queue = queues.get('webhooks');
    const [bulk, single] = [vi.spyOn(queue, 'addBulk'), vi.spyOn(queue, 'add')];
    try {
      const ids = [uuidv7(), uuidv7(), uuidv7()];
      await Promise.all(ids.map(deliver));
      expect([bulk.mock.calls.length, single.mock.calls.length]).toEqual([1, 0]);
      expect(bulk.mock.calls[0]![0].map((job) => job.opts?.jobId)).toEqual(ids);
      const later = uuidv7();
      await deliver(later);
      expect([bulk.mock.calls.length, single.mock.calls.length]).toEqual([1, 1]);
      const stored = await Promise.all([...ids, later].map((id) => queue.getJob(id)));
      expect(stored.map((job) => [job?.id, job?.opts.attempts])).toEqual([...ids, later].map((id) => [id, 10]));
      // A re-publish of the same outbox row is still a no-op.
      await Promise.all([deliver(ids[0]!), deliver(ids[1]!)]);
      expect(await queue.count()).toBe(4);
    } finally {
      bulk.mockRestore();
      single.mockRestore();
    }
  });

  it('fails every add of a turn whose write fails, so each caller leaves its row to the relay', async () => {
    const queue = queues.get('webhooks');
    const failing = vi.spyOn(queue, 'addBulk').mockRejectedValueOnce(new Error('Connection is closed.'));
    try {
      const results = await Promise.allSettled([deliver(uuidv7()), deliver(uuidv7())]);
      expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    } finally {
      failing.mockRestore();
    }
  });
});
