import { Inject, Injectable } from '@nestjs/common';
import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
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
 * here each publish is collected and awaited, so the caller sees a Redis failure.
 */
@Injectable()
export class LivePublisher {
  private readonly key: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: FerryConfig,
  ) {
    this.key = liveChannelKey(config);
  }

  async publish(event: EventEnvelope): Promise<void> {
    const sent: Array<Promise<unknown>> = [];
    const client = {
      publish: (channel: string, message: string | Buffer): Promise<unknown> => {
        const published = this.redis.publish(channel, message);
        sent.push(published);
        return published;
      },
    };
    new Emitter(client, { key: this.key }).to(workspaceRoom(event.workspaceId)).emit(event.type, event);
    await Promise.all(sent);
  }
}
