import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Account, Provider } from '../../../apps/simulator/src/accounts.js';
import type { Behaviour } from '../../../apps/simulator/src/behaviour.js';
import type { HookDelivery, InboundResult } from '../../../apps/simulator/src/hook-client.js';
import { Simulator } from '../../../apps/simulator/src/simulator.js';
import type { SentRecord, UserState } from '../../../apps/simulator/src/state.js';

export type { Account as SimAccount, Behaviour as SimBehaviour, HookDelivery as SimHookDelivery, InboundResult as SimInboundResult, SentRecord as SimSentRecord, UserState as SimUserState };
export type SimProvider = Provider | 'twilio';

/** A provider account: `channel`, Ferry's `hookUrl`, and the inbox config fields Ferry was given (API.md). */
export interface SimAccountSpec {
  channel: SimProvider;
  hookUrl?: string;
  [field: string]: unknown;
}

export interface SimSentReport {
  messages: Array<SentRecord & { deliveryCount: number }>;
  deliveryCounts: Record<string, number>;
}

/** A simulator control call answered with an error. */
export class SimulatorError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`simulator answered ${status}: ${JSON.stringify(body)}`);
  }
}

/**
 * The provider simulator (apps/simulator) in this process on ephemeral ports, with typed helpers for
 * its /_sim control API. Point an inbox's `apiBaseUrl` at `baseUrl` (and its SMTP host/port at
 * 127.0.0.1:`smtpPort`), register the same credentials here, and the simulator plays the provider.
 */
export class SimulatorHarness {
  readonly smtpHost = '127.0.0.1';

  private constructor(
    private readonly simulator: Simulator,
    readonly baseUrl: string,
    readonly smtpPort: number,
  ) {}

  static async start(): Promise<SimulatorHarness> {
    const simulator = new Simulator();
    const { baseUrl, smtpPort } = await simulator.listen({ port: 0, smtpPort: 0 });
    return new SimulatorHarness(simulator, baseUrl, smtpPort);
  }

  registerAccount<A extends Account = Account>(spec: SimAccountSpec): Promise<A> {
    return this.call('POST', '/_sim/accounts', spec);
  }

  /** Builds the provider's exact payload for `message` and posts it to the account's hook; Ferry's answer comes back. */
  inbound(provider: SimProvider, input: { account: string | Omit<SimAccountSpec, 'channel'>; message?: Record<string, unknown>; repeat?: boolean | number }): Promise<InboundResult> {
    return this.call('POST', `/_sim/${provider}/inbound`, input);
  }

  behaviour(provider: SimProvider, behaviour: Partial<Behaviour>): Promise<Behaviour> {
    return this.call('POST', `/_sim/${provider}/behaviour`, behaviour);
  }

  sent(provider: SimProvider): Promise<SimSentReport> {
    return this.call('GET', `/_sim/${provider}/sent`);
  }

  /** Sets what the provider knows of a user: when they last wrote (ms or ISO; null: never), blocked. */
  user(provider: SimProvider, input: { account: string; user: string; lastInboundAt?: number | string | null; sentSinceInbound?: number; blocked?: boolean }): Promise<UserState> {
    return this.call('POST', `/_sim/${provider}/users`, input);
  }

  /** Posts (again) a receipt for a message the provider accepted: late, duplicate, out of order. */
  receipt(provider: 'whatsapp' | 'sms' | 'twilio', input: { providerMessageId: string; status: string; repeat?: boolean | number }): Promise<HookDelivery & { deliveries: HookDelivery[] }> {
    return this.call('POST', `/_sim/${provider}/receipts`, input);
  }

  /** The GET handshake of registering a hook URL (WhatsApp hub.challenge, WeChat echostr). */
  handshake(provider: 'whatsapp' | 'wechat', input: { account: string; verifyToken?: string; token?: string }): Promise<{ delivery: HookDelivery; challenge: string; echoed: boolean }> {
    return this.call('POST', `/_sim/${provider}/handshake`, input);
  }

  wechatTokens(): Promise<{ total: number; byAccount: Record<string, number> }> {
    return this.call('GET', '/_sim/wechat/tokens');
  }

  async reset(): Promise<void> {
    await this.call('DELETE', '/_sim/reset');
  }

  async close(): Promise<void> {
    await this.simulator.close();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each caller types the answer it expects
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new SimulatorError(response.status, parsed);
    return parsed as T;
  }
}

export interface ReceivedRequest {
  method: string;
  /** Path and query, as requested. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Responder = (request: ReceivedRequest) => { status: number; body?: string; contentType?: string };

/** A tiny HTTP server standing in for Ferry's hooks in tests: records every request, answers as told. */
export class HookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private responder: Responder = () => ({ status: 200, body: 'ok', contentType: 'text/plain' });
  private readonly server: Server;
  private address = '';

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
        this.requests.push(request);
        const answer = this.responder(request);
        res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' }).end(answer.body ?? '');
      });
    });
  }

  static async start(): Promise<HookReceiver> {
    const receiver = new HookReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.address = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  get baseUrl(): string {
    return this.address;
  }

  url(path = '/hook'): string {
    return `${this.baseUrl}${path}`;
  }

  respond(responder: Responder): void {
    this.responder = responder;
  }

  /** Waits until `count` requests match (polling; fails after `timeoutMs`). */
  async waitFor(match: (request: ReceivedRequest) => boolean, count = 1, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${count} matching hook requests, got ${found.length}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  clear(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
