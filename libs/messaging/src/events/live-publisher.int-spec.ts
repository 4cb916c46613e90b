import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { type EventEnvelope, uuidv7 } from '#domain';
import { createRedis } from '#queue';
import { testConfig } from '#testing';
import { liveChannelKey } from './live-channel.js';
import { LivePublisher } from './live-publisher.js';

describe('LivePublisher: the events published in one turn of the event loop share one pipeline', () => {
  let redis: Redis;
  let listener: Redis;
  let publisher: LivePublisher;
  const received: string[] = [];

  beforeAll(async () => {
    const config = await testConfig({ REDIS_PREFIX: `ferry-test-live-${process.pid}` });
    redis = createRedis(config, 'commands');
    listener = createRedis(config, 'consumer');
    publisher = new LivePublisher(redis, config);
    listener.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => received.push(message.toString('latin1')));
    await listener.psubscribe(`${liveChannelKey(config)}*`);
  });
  afterAll(() => {
    redis?.disconnect();
    listener?.disconnect();
  });

  const event = (): EventEnvelope => ({ id: uuidv7(), type: 'contact.created', createdAt: new Date().toISOString(), workspaceId: uuidv7(), data: {} }) as EventEnvelope;

  it('sends one pipeline for several callers, in call order, and a later turn on its own', async () => {
    const pipelines = vi.spyOn(redis, 'pipeline');
    try {
      const events = [event(), event(), event()];
      await Promise.all([publisher.publish(events[0]!), publisher.publishAll([events[1]!, events[2]!])]);
      expect(pipelines).toHaveBeenCalledTimes(1);
      await publisher.publish(event());
      expect(pipelines).toHaveBeenCalledTimes(2);
      await vi.waitFor(() => expect(received).toHaveLength(4));
      // The emitter's message is msgpack; each carries its event's id as text.
      expect(events.map((e) => received.findIndex((message) => message.includes(e.id)))).toEqual([0, 1, 2]);
    } finally {
      pipelines.mockRestore();
    }
  });

  it('fails every caller of a turn whose pipeline fails', async () => {
    const failing = vi.spyOn(redis, 'pipeline').mockImplementationOnce(
      () => ({ publish: () => undefined, exec: () => Promise.reject(new Error('Connection is closed.')) }) as unknown as ReturnType<Redis['pipeline']>,
    );
    try {
      const results = await Promise.allSettled([publisher.publish(event()), publisher.publish(event())]);
      expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    } finally {
      failing.mockRestore();
    }
  });
});
