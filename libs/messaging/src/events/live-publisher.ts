import { Inject, Injectable } from '@nestjs/common';
import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import { TurnBatch } from '#database';
import type { EventEnvelope } from '#domain';
import { REDIS } from '#queue';
import { liveChannelKey, workspaceRoom } from './live-channel.js';

/**
 * The producers' end of the live stream (EventWriter, after commit, in the API or the worker):
 * publishes a committed event, through Redis, to the socket.io rooms of its workspace on every API
 * instance (their Redis adapter relays it to their sockets). The event's type is the socket.io event
 * name, the envelope its payload.
 *
 * The emitter publishes without waiting (and would leave a failed publish as an unhandled rejection):
 * here its publishes go into a pipeline that is awaited, so the caller sees a Redis failure. The
 * events published in one turn of the event loop (by requests whose commits arrived together) share
 * that pipeline: one write to Redis instead of one per request.
 */
@Injectable()
export class LivePublisher {
  private readonly key: string;
  private readonly publishes = new TurnBatch<readonly EventEnvelope[], void>((batch) => this.send(batch.flat()).then(() => batch.map(() => undefined)));

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: FerryConfig,
  ) {
    this.key = liveChannelKey(config);
  }

  async publish(event: EventEnvelope): Promise<void> {
    await this.publishAll([event]);
  }

  /** Several events, in order, in one round trip to Redis (a pipeline). */
  async publishAll(events: readonly EventEnvelope[]): Promise<void> {
    if (events.length > 0) await this.publishes.submit(events);
  }

  private async send(events: readonly EventEnvelope[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    const client = { publish: (channel: string, message: string | Buffer) => pipeline.publish(channel, message) };
    const emitter = new Emitter(client, { key: this.key });
    for (const event of events) emitter.to(workspaceRoom(event.workspaceId)).emit(event.type, event);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }
}
