import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountOf, Provider } from './accounts.js';
import type { Behaviours } from './behaviour.js';
import type { HookClient, HookDelivery, InboundResult } from './hook-client.js';
import type { Json } from './input.js';
import type { SimState } from './state.js';

/** What every provider shares: the records, the scripted behaviour, the client posting to Ferry. */
export interface SimContext {
  state: SimState;
  behaviours: Behaviours;
  hooks: HookClient;
  log: FastifyBaseLogger;
}

/**
 * One provider, both directions. To add a provider: a folder with a class implementing this, its
 * account shape in accounts.ts, and one line in simulator.ts.
 */
export interface ProviderPlayer<P extends Provider = Provider> {
  readonly provider: P;
  /** The provider's own API, as Ferry calls it. */
  routes(app: FastifyInstance): void;
  /** Builds the provider's exact inbound payload for `message` and posts it to the account's hook. */
  inbound(account: AccountOf<P>, message: Json, repeat: number): Promise<InboundResult>;
  /** Posts (again) a delivery receipt for a message it accepted: late, duplicate or out-of-order receipts. */
  receipt?(providerMessageId: string, status: string, repeat: number): Promise<HookDelivery[]>;
  /** The GET handshake a provider does when the hook URL is registered (WhatsApp hub.challenge, WeChat echostr). */
  handshake?(account: AccountOf<P>, input: Json): Promise<{ delivery: HookDelivery; challenge: string; echoed: boolean }>;
}

export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** The request's header as one string (Fastify gives arrays for repeated headers). */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header(request, 'authorization') ?? '');
  return match?.[1]?.trim();
}

/** Answers nothing and drops the connection: the caller cannot know whether the provider took the message. */
export function dropConnection(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.hijack();
  request.raw.socket.destroy();
  return reply;
}
