import { Inject, Injectable } from '@nestjs/common';
import type { ChainableCommander, Redis } from 'ioredis';
import { CONFIG, type FerryConfig } from '#config';
import type { Channel } from '#domain';
import { REDIS } from '#queue';

/**
 * Sends per second per inbox when its config sets none: the provider's own limit for one sender.
 * WhatsApp Cloud API: 80 messages/s per phone number; Twilio: 1 message/s from a US long code;
 * Telegram: about 30 messages/s per bot; LINE: 2,000 requests/s per channel (kept well below);
 * WeChat customer-service messages: no published rate, a daily quota (kept modest); email: what an
 * SMTP relay accepts without throttling; webchat and api hand messages to Ferry's own side.
 */
export const DEFAULT_SEND_RATES: { [C in Channel]: number } = {
  whatsapp: 80,
  sms: 1,
  telegram: 30,
  line: 100,
  wechat: 50,
  email: 10,
  webchat: 1000,
  api: 100,
};

/** The inbox's rate: its config's `sendRatePerSecond`, else its channel's default. */
export function sendRateOf(channel: Channel, config: { sendRatePerSecond?: number }): number {
  const configured = config.sendRatePerSecond;
  return typeof configured === 'number' && Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_SEND_RATES[channel];
}

/**
 * The least time between two sends from one inbox to one user, where the provider limits that pair:
 * WhatsApp (about one message per 6 s to the same user, error 131056 beyond it; WHATSAPP_PAIR_INTERVAL_MS).
 * 0: no pair limit on the channel.
 */
export function pairIntervalOf(channel: Channel, whatsappPairIntervalMs: number): number {
  return channel === 'whatsapp' ? whatsappPairIntervalMs : 0;
}

/**
 * GCRA (a leaky bucket kept as one timestamp, the "theoretical arrival time") with reservations, on
 * the Redis clock so that every worker shares one bucket per inbox. A send may go at once while the
 * bucket holds a burst of one second's worth; otherwise it gets the next free slot, reserved under the
 * job's id, and comes back for it then: a busy inbox queues its own messages, never the others'.
 * KEYS: the bucket, the job's reservation. ARGV: interval ms, burst. Answers the wait in ms (0: go).
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reserved = redis.call('GET', KEYS[2])
if reserved then
  local at = tonumber(reserved)
  if at <= now then
    redis.call('DEL', KEYS[2])
    return 0
  end
  return math.ceil(at - now)
end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allowed_at = tat - (burst - 1) * interval
local next_tat = tat + interval
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil(next_tat - now) + 1000)
if allowed_at <= now then return 0 end
redis.call('SET', KEYS[2], tostring(allowed_at), 'PX', math.ceil(allowed_at - now) + 60000)
return math.ceil(allowed_at - now)
`;

/**
 * Both slots of one send in one call: first the pair's (KEYS 1-2; ARGV[1] its interval ms, 0: no pair
 * limit), then, when that one is free now, the inbox's (KEYS 3-4; ARGV 2-3 its interval and burst),
 * each exactly as ACQUIRE takes it. Answers {1, wait} when the pair's slot is not due yet, else {2, wait}.
 */
const ACQUIRE_SEND = `
local function acquire(bucket, held, interval, burst)
${ACQUIRE.replace(/KEYS\[1\]/g, 'bucket').replace(/KEYS\[2\]/g, 'held').replace(/local interval = tonumber\(ARGV\[1\]\)\n/, '').replace(/local burst = tonumber\(ARGV\[2\]\)\n/, '')}
end
local pair = tonumber(ARGV[1])
if pair > 0 then
  local wait = acquire(KEYS[1], KEYS[2], pair, 1)
  if wait > 0 then return {1, wait} end
end
return {2, acquire(KEYS[3], KEYS[4], tonumber(ARGV[2]), tonumber(ARGV[3]))}
`;

type SendSlotsArgs = [pairBucket: string, pairHeld: string, bucket: string, held: string, pairMs: number, intervalMs: number, burst: number];

type SlotRedis = Redis & {
  ferrySendSlot(bucket: string, held: string, intervalMs: number, burst: number): Promise<number>;
  ferrySendSlots(...args: SendSlotsArgs): Promise<[number, number]>;
};

type SlotPipeline = ChainableCommander & { ferrySendSlots(...args: SendSlotsArgs): SlotPipeline };

/** One send's request for its slots (acquireSend's arguments). */
export interface SendSlotRequest {
  inboxId: string;
  ratePerSecond: number;
  pair: { to: string; intervalMs: number } | null;
  holder: string;
}

export interface SendSlot {
  wait: number;
  limit: 'pair' | 'inbox';
}

/** The per-inbox send rate limit, shared by every worker through Redis. */
@Injectable()
export class SendRateLimiter {
  private readonly prefix: string;

  private readonly redis: SlotRedis;

  constructor(@Inject(REDIS) redis: Redis, @Inject(CONFIG) config: FerryConfig) {
    this.prefix = `${config.redis.keyPrefix}:delivery:rate`;
    // EVALSHA (ioredis loads the script once, again after a Redis restart) rather than the script's text on every send.
    if (!('ferrySendSlot' in redis)) redis.defineCommand('ferrySendSlot', { numberOfKeys: 2, lua: ACQUIRE });
    if (!('ferrySendSlots' in redis)) redis.defineCommand('ferrySendSlots', { numberOfKeys: 4, lua: ACQUIRE_SEND });
    this.redis = redis as SlotRedis;
  }

  /**
   * Takes a slot for one send from `inboxId` at `ratePerSecond`: answers 0 to send now, or how many ms
   * to wait for the slot reserved for `holder` (the job id), which the same holder then finds ready.
   */
  async acquire(inboxId: string, ratePerSecond: number, holder: string): Promise<number> {
    const interval = 1000 / ratePerSecond;
    const burst = Math.max(1, Math.floor(ratePerSecond));
    const wait = await this.redis.ferrySendSlot(`${this.prefix}:${inboxId}`, `${this.prefix}:${inboxId}:held:${holder}`, interval, burst);
    return Number(wait);
  }

  /**
   * What one send takes, in one round trip: with `pair`, first the slot from `inboxId` to user
   * `pair.to`, `pair.intervalMs` after the previous one (no burst: a burst to one customer is spaced,
   * each job coming back for its reserved slot, instead of failing at the provider); then, when that
   * one is free now, the inbox's slot as acquire() takes it. Answers wait 0 to send now, else how
   * many ms to wait and which limit set it.
   */
  async acquireSend(inboxId: string, ratePerSecond: number, pair: { to: string; intervalMs: number } | null, holder: string): Promise<SendSlot> {
    return slotOf(await this.redis.ferrySendSlots(...this.slotArgs({ inboxId, ratePerSecond, pair, holder })));
  }

  /**
   * acquireSend for several sends, in order, in one round trip (a pipeline: each send's script runs on
   * its own, exactly as acquireSend runs it). Rejects if any of them failed.
   */
  async acquireSends(requests: readonly SendSlotRequest[]): Promise<SendSlot[]> {
    if (requests.length === 1) {
      const [only] = requests as [SendSlotRequest];
      return [await this.acquireSend(only.inboxId, only.ratePerSecond, only.pair, only.holder)];
    }
    if (requests.length === 0) return [];
    const pipeline = this.redis.pipeline() as SlotPipeline;
    for (const request of requests) pipeline.ferrySendSlots(...this.slotArgs(request));
    const results = (await pipeline.exec()) ?? [];
    return requests.map((_, i) => {
      const [error, answer] = results[i] ?? [new Error('no answer from Redis for a send slot'), null];
      if (error) throw error;
      return slotOf(answer as [number, number]);
    });
  }

  private slotArgs({ inboxId, ratePerSecond, pair, holder }: SendSlotRequest): SendSlotsArgs {
    const pairKey = `${this.prefix}:${inboxId}:to:${pair?.to ?? ''}`;
    return [
      pairKey,
      `${pairKey}:held:${holder}`,
      `${this.prefix}:${inboxId}`,
      `${this.prefix}:${inboxId}:held:${holder}`,
      pair && pair.intervalMs > 0 ? pair.intervalMs : 0,
      1000 / ratePerSecond,
      Math.max(1, Math.floor(ratePerSecond)),
    ];
  }
}

function slotOf([which, wait]: [number, number]): SendSlot {
  return { wait: Number(wait), limit: Number(which) === 1 ? 'pair' : 'inbox' };
}
