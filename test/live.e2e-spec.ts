import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { FerryConfig } from '#config';
import { type EventEnvelope, uuidv7 } from '#domain';
import { deriveAccessTokenKey, signAccessToken } from '#identity';
import { ApiProcess, HookReceiver, seedTenant, type SeededTenant, testConfig, WorkerProcess } from '#testing';

/**
 * The live stream across processes: two API processes (as behind a balancer) and one worker process
 * on real Redis and Postgres. A change committed through one API is published by the worker, after
 * commit, to the workspace's room; each client, whichever API it is connected to, receives every
 * event exactly once, and a client of another workspace receives nothing.
 */

const WAIT = { timeout: 20_000, interval: 50 };

interface Client {
  socket: Socket;
  events: EventEnvelope[];
}

describe('live updates: socket.io on two API processes, events from the worker', () => {
  let config: FerryConfig;
  let apiA: ApiProcess;
  let apiB: ApiProcess;
  let worker: WorkerProcess;
  let receiver: HookReceiver;
  let tenant: SeededTenant;
  let other: SeededTenant;
  const clients: Client[] = [];

  const token = (seeded: SeededTenant, now = Math.floor(Date.now() / 1000)): string =>
    signAccessToken(
      { sub: seeded.userId, wid: seeded.workspaceId, mid: seeded.memberId, role: 'owner' },
      deriveAccessTokenKey(config.auth.appSecret),
      config.auth.accessTokenTtlSeconds,
      now,
    );

  const connect = (api: ApiProcess, auth: Record<string, unknown>): Socket =>
    io(api.baseUrl, { path: '/socket.io', transports: ['websocket'], auth, reconnection: false, forceNew: true });

  /** A connected client recording every event it receives, under any name. */
  const client = async (api: ApiProcess, seeded: SeededTenant): Promise<Client> => {
    const socket = connect(api, { token: token(seeded) });
    const recorded: Client = { socket, events: [] };
    socket.onAny((name: string, event: EventEnvelope) => {
      expect(name).toBe(event.type);
      recorded.events.push(event);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    clients.push(recorded);
    return recorded;
  };

  /** The handshake's answer: connected, or refused with its code. */
  const handshake = (api: ApiProcess, auth: Record<string, unknown>): Promise<string> => {
    const socket = connect(api, auth);
    return new Promise<string>((resolve) => {
      socket.once('connect', () => {
        socket.disconnect();
        resolve('connected');
      });
      socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
        socket.disconnect();
        resolve(error.data?.code ?? error.message);
      });
    });
  };

  const call = async (api: ApiProcess, method: string, path: string, apiKey: string, body?: unknown) => {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { id: string } };
  };

  beforeAll(async () => {
    config = await testConfig({ ALLOW_PRIVATE_URLS: 'true' });
    receiver = await HookReceiver.start();
    [worker, apiA, apiB] = await Promise.all([WorkerProcess.start(config), ApiProcess.start(config), ApiProcess.start(config)]);
    tenant = await seedTenant(config, 'Live e2e');
    other = await seedTenant(config, 'Live e2e other');
  }, 90_000);

  afterAll(async () => {
    for (const { socket } of clients) socket.disconnect();
    await Promise.all([apiA?.stop(), apiB?.stop(), worker?.stop()]);
    await receiver?.close();
  }, 60_000);

  it('refuses a bad, an expired or a missing token and an API key at the handshake, and lets an access token in', async () => {
    expect(await handshake(apiA, { token: 'not-a-token' })).toBe('auth.invalid_token');
    expect(await handshake(apiA, { token: token(tenant, Math.floor(Date.now() / 1000) - config.auth.accessTokenTtlSeconds - 5) })).toBe('auth.token_expired');
    expect(await handshake(apiB, {})).toBe('auth.missing_token');
    expect(await handshake(apiB, { token: tenant.apiKey })).toBe('auth.access_token_required');
    expect(await handshake(apiB, { token: token(tenant) })).toBe('connected');
  });

  it('delivers each event produced by the worker once to a client on each API, and nothing to another workspace', async () => {
    const onA = await client(apiA, tenant);
    const onB = await client(apiB, tenant);
    const outsider = await client(apiA, other);

    const inbox = await call(apiA, 'POST', '/v1/inboxes', tenant.apiKey, { name: `Live ${uuidv7()}`, channel: 'api', config: { webhookUrl: receiver.url('/replies') } });
    expect(inbox.status).toBe(201);
    const customer = `live-${uuidv7()}`;
    const inbound = await call(apiB, 'POST', `/v1/inboxes/${inbox.body.id}/inbound`, tenant.apiKey, {
      contact: { externalId: customer, name: 'Ana Live' },
      message: { externalId: `m-${uuidv7()}`, body: 'Is the ferry running today?' },
    });
    expect(inbound.status).toBeLessThan(300);
    const conversationId = (inbound.body as unknown as { conversation: { id: string } }).conversation.id;

    // An agent's reply: the worker delivers it to the integrator and marks it sent in its own transaction.
    const reply = await call(apiA, 'POST', `/v1/conversations/${conversationId}/messages`, tenant.apiKey, { type: 'text', body: 'Yes, every hour.' });
    expect(reply.status).toBe(202);
    await receiver.waitFor((request) => request.url === '/replies');

    const sentUpdate = (event: EventEnvelope) => event.type === 'message.updated' && (event.data as { id: string; status: string }).id === reply.body.id && (event.data as { status: string }).status === 'sent';
    for (const seen of [onA, onB]) {
      await vi.waitFor(() => {
        const types = seen.events.map((event) => event.type);
        expect(types).toEqual(expect.arrayContaining(['contact.created', 'conversation.created', 'message.created', 'message.updated']));
        expect(seen.events.some(sentUpdate)).toBe(true);
      }, WAIT);
    }
    // Time for any duplicate (or stray cross-workspace event) to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 750));

    for (const seen of [onA, onB]) {
      const ids = seen.events.map((event) => event.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(seen.events.every((event) => event.workspaceId === tenant.workspaceId)).toBe(true);
      const created = seen.events.filter((event) => event.type === 'message.created').map((event) => event.data as { id: string; body: string; direction: string });
      expect(created).toEqual(expect.arrayContaining([
        expect.objectContaining({ direction: 'in', body: 'Is the ferry running today?' }),
        expect.objectContaining({ id: reply.body.id, direction: 'out', body: 'Yes, every hour.', status: 'queued' }),
      ]));
      expect(seen.events.filter(sentUpdate)).toHaveLength(1);
    }
    // Both clients saw the same envelopes (one publish, relayed by each API to its own sockets).
    expect(onA.events.map((event) => event.id).sort()).toEqual(onB.events.map((event) => event.id).sort());
    // The event's data is the resource as the REST API answers it.
    const message = await call(apiB, 'GET', `/v1/messages/${reply.body.id}`, tenant.apiKey);
    const { attempts: _attempts, ...messageDto } = message.body;
    expect(onA.events.find(sentUpdate)?.data).toEqual(messageDto);
    expect(outsider.events).toEqual([]);
  });
});
