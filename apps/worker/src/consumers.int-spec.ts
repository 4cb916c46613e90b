import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { type Channel, DomainError, uuidv7 } from '#domain';
import { type ChannelAdapter, exampleChannelConfig, type OutboundMessage, type SendOutcome } from '#channels';
import { InboundService, InboxesService, MessagesService } from '#messaging';
import { type JobHandlers, JobDeferred, JobHandlersError, JobRetryable } from '#queue';
import { seedTenant, testConfig } from '#testing';
import { Consumers } from './consumers.js';
import type { JobRegistry } from './job-registry.js';
import { createLogger } from './logger.js';
import { createWorker } from './worker.js';

const logger = createLogger('silent');
/** Fast retries, so a test sees several tries without waiting for the production backoff. */
const FAST = { attempts: 3, backoff: { type: 'jittered', delay: 10 } };

function outboundOnly(handlers: JobHandlers): JobRegistry {
  return { queues: ['outbound'], handlers: () => ({ 'message.fallback_check': async () => undefined, ...handlers }) };
}

describe('worker consumers', () => {
  let config: FerryConfig;
  let connection: Redis;
  let outbound: Queue;
  let worker: INestApplicationContext | undefined;

  beforeAll(async () => {
    const base = await testConfig();
    config = await testConfig({ REDIS_PREFIX: `${base.redis.keyPrefix}-consumers`, PUBLIC_URL: 'https://ferry.example' });
    connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
    outbound = new Queue('outbound', { connection, prefix: config.redis.keyPrefix });
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await outbound.obliterate({ force: true });
  });
  afterAll(async () => {
    await outbound?.close();
    const keys = await connection.keys(`${config.redis.keyPrefix}:*`);
    if (keys.length > 0) await connection.del(...keys);
    connection?.disconnect();
  });

  async function start(registry: JobRegistry): Promise<INestApplicationContext> {
    worker = await createWorker(config, logger, { registry });
    worker.get(Consumers).start();
    return worker;
  }

  async function settled(job: Job): Promise<Job> {
    await vi.waitFor(
      async () => {
        expect(['completed', 'failed']).toContain(await outbound.getJobState(job.id!));
      },
      { timeout: 15_000, interval: 25 },
    );
    return (await outbound.getJob(job.id!))!;
  }

  it('refuses to boot when a job of a consumed queue has no handler', async () => {
    await expect(createWorker(config, logger, { registry: outboundOnly({}) })).rejects.toThrow(JobHandlersError);
    await expect(createWorker(config, logger, { registry: outboundOnly({}) })).rejects.toThrow(/No handler for job "message\.send"/);
  });

  it('boots with the real registry: message.send has its handler', async () => {
    worker = await createWorker(config, logger);
    expect(worker.get(Consumers).running).toBe(false);
  });

  it('runs a job with its payload and its context', async () => {
    const seen: unknown[] = [];
    await start(outboundOnly({ 'message.send': async (payload, context) => void seen.push({ payload, context }) }));
    const job = await outbound.add('message.send', { workspaceId: 'w', messageId: 'm' }, { ...FAST, jobId: 'outbox-1' });

    expect((await settled(job)).finishedOn).toBeDefined();
    expect(await outbound.getJobState(job.id!)).toBe('completed');
    expect(seen).toEqual([{ payload: { workspaceId: 'w', messageId: 'm' }, context: { jobId: 'outbox-1', attempt: 1, maxAttempts: 3 } }]);
  });

  it('puts a deferred job back without spending a try', async () => {
    const tries: number[] = [];
    await start(
      outboundOnly({
        'message.send': async (_payload, context) => {
          tries.push(context.attempt);
          if (tries.length < 3) throw new JobDeferred(20, 'an earlier message is still queued');
        },
      }),
    );
    const done = await settled(await outbound.add('message.send', { workspaceId: 'w', messageId: 'm' }, FAST));

    expect(await outbound.getJobState(done.id!)).toBe('completed');
    expect(tries, 'three runs, all of them the first try').toEqual([1, 1, 1]);
    expect(done.attemptsMade, 'only the run that completed counts').toBe(1);
  });

  it('retries a transient failure with backoff, counting the tries', async () => {
    const attempts: number[] = [];
    await start(
      outboundOnly({
        'message.send': async (_payload, context) => {
          attempts.push(context.attempt);
          if (context.attempt < 3) throw new JobRetryable('provider.http_503: Service Unavailable');
        },
      }),
    );
    const done = await settled(await outbound.add('message.send', { workspaceId: 'w', messageId: 'm' }, FAST));

    expect(await outbound.getJobState(done.id!)).toBe('completed');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('fails a permanent DomainError at once, never retrying it', async () => {
    let runs = 0;
    await start(
      outboundOnly({
        'message.send': async () => {
          runs += 1;
          throw DomainError.invalid('delivery.invalid_job', 'message.send needs a messageId');
        },
      }),
    );
    const done = await settled(await outbound.add('message.send', { workspaceId: 'w' }, FAST));

    expect(await outbound.getJobState(done.id!)).toBe('failed');
    expect(runs).toBe(1);
    expect(done.failedReason).toContain('delivery.invalid_job');
  });

  it('survives bad jobs: an unknown job fails alone, a throwing handler fails its job, the next job runs', async () => {
    const handled: string[] = [];
    await start(
      outboundOnly({
        'message.send': async (payload) => {
          if (payload.messageId === 'boom') throw new TypeError('Cannot read properties of undefined');
          handled.push(payload.messageId);
        },
      }),
    );
    const unknown = await settled(await outbound.add('message.teleport', {}, FAST));
    const boom = await settled(await outbound.add('message.send', { workspaceId: 'w', messageId: 'boom' }, { ...FAST, attempts: 1 }));
    const fine = await settled(await outbound.add('message.send', { workspaceId: 'w', messageId: 'fine' }, FAST));

    expect(await outbound.getJobState(unknown.id!)).toBe('failed');
    expect(unknown.failedReason).toMatch(/No handler for job "message\.teleport"/);
    expect(await outbound.getJobState(boom.id!)).toBe('failed');
    expect(await outbound.getJobState(fine.id!)).toBe('completed');
    expect(handled).toEqual(['fine']);
  });

  it('shuts down gracefully: the active job finishes before the worker closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    let finished = false;
    const app = await start(
      outboundOnly({
        'message.send': async () => {
          started = true;
          await gate;
          finished = true;
        },
      }),
    );
    const job = await outbound.add('message.send', { workspaceId: 'w', messageId: 'm' }, FAST);
    await vi.waitFor(() => expect(started).toBe(true), { timeout: 10_000 });

    let closed = false;
    const closing = app.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed, 'close waits for the active job').toBe(false);
    release();
    await closing;
    worker = undefined;

    expect(finished).toBe(true);
    expect(await outbound.getJobState(job.id!)).toBe('completed');
  });

  describe('message.send end to end (outbox -> queue -> delivery -> fake provider)', () => {
    class FakeAdapter implements ChannelAdapter<unknown> {
      readonly channel: Channel = 'whatsapp';
      readonly sent: OutboundMessage[] = [];
      failNext = 0;
      verify(): never {
        throw new Error('not used');
      }
      parse(): never {
        throw new Error('not used');
      }
      async send(message: OutboundMessage): Promise<SendOutcome> {
        if (this.failNext > 0) {
          this.failNext -= 1;
          return { ok: false, permanent: false, code: 'provider.http_503', reason: 'Service Unavailable', retryAfterMs: 10 };
        }
        this.sent.push(message);
        return { ok: true, providerMessageId: `wamid.${message.messageId}`, responseCode: '200' };
      }
    }

    it('delivers replies in the order they were written, through retries', async () => {
      const fake = new FakeAdapter();
      worker = await createWorker(config, logger, { adapters: () => fake as ChannelAdapter<never> });
      const { workspaceId } = await seedTenant(config, 'Worker delivery');
      const inbox = await worker.get(InboxesService).create(workspaceId, {
        name: 'WhatsApp',
        channel: 'whatsapp',
        config: { ...exampleChannelConfig('whatsapp'), sendRatePerSecond: 1000 },
      });
      const inbound = await worker.get(InboundService).receive(workspaceId, {
        inboxId: inbox.id,
        contact: { externalId: '14155550123' },
        message: { externalId: `wamid.in-${uuidv7()}`, body: 'Is my tour on Friday?' },
      });
      const messages = worker.get(MessagesService);
      fake.failNext = 1; // the first reply's first try fails: the second must still wait for it
      const ids: string[] = [];
      for (const body of ['Yes, Friday 9am.', 'Pickup at your hotel.', 'See you then!']) {
        ids.push((await messages.post(workspaceId, inbound.conversation!.id, null, { type: 'text', body })).id);
      }
      worker.get(Consumers).start();

      await vi.waitFor(
        async () => {
          for (const id of ids) expect((await messages.get(workspaceId, id)).message.status).toBe('sent');
        },
        { timeout: 20_000, interval: 50 },
      );
      expect(fake.sent.map((m) => m.messageId)).toEqual(ids);
      const first = await messages.get(workspaceId, ids[0]!);
      expect(first.message.externalId).toBe(`wamid.${ids[0]}`);
      expect(first.attempts.map((a) => a.status)).toEqual(['retrying', 'sent']);
    });
  });
});
