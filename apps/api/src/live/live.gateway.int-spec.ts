import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { type EventEnvelope, type Role, uuidv7 } from '#domain';
import { deriveAccessTokenKey, signAccessToken } from '#identity';
import { LivePublisher } from '#messaging';
import { ApiHarness, seedTenant, type SeededTenant } from '#testing';
import { LiveGateway } from './live.gateway.js';

const WAIT = { timeout: 10_000, interval: 20 };

/**
 * The gateway in one API process: roles, token expiry, the publisher's path through Redis, the
 * REDIS_PREFIX boundary between installations, and sockets closed at shutdown.
 */
describe('LiveGateway', () => {
  let api: ApiHarness;
  let tenant: SeededTenant;
  const sockets: Socket[] = [];

  const token = (role: Role, now = Math.floor(Date.now() / 1000)): string =>
    signAccessToken(
      { sub: tenant.userId, wid: tenant.workspaceId, mid: tenant.memberId, role },
      deriveAccessTokenKey(api.config.auth.appSecret),
      api.config.auth.accessTokenTtlSeconds,
      now,
    );

  const connect = async (harness: ApiHarness, accessToken: string): Promise<{ socket: Socket; events: EventEnvelope[]; disconnects: string[] }> => {
    const socket = io(harness.baseUrl, { transports: ['websocket'], auth: { token: accessToken }, reconnection: false, forceNew: true });
    sockets.push(socket);
    const events: EventEnvelope[] = [];
    const disconnects: string[] = [];
    socket.onAny((_name: string, event: EventEnvelope) => events.push(event));
    socket.on('disconnect', (reason) => disconnects.push(reason));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, events, disconnects };
  };

  const event = (workspaceId: string): EventEnvelope => ({
    id: uuidv7(),
    type: 'conversation.updated',
    createdAt: new Date().toISOString(),
    workspaceId,
    data: { id: uuidv7(), status: 'pending' },
  });

  beforeAll(async () => {
    api = await ApiHarness.start();
    tenant = await seedTenant(api.config, 'Live gateway');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await api?.close();
  });

  it('lets agents in and gives them their workspace\'s events (agents see every conversation today), under the type as event name', async () => {
    const agent = await connect(api, token('agent'));
    const names: string[] = [];
    agent.socket.onAny((name: string) => names.push(name));
    const published = event(tenant.workspaceId);
    await api.app.get(LivePublisher).publish(published);
    await vi.waitFor(() => expect(agent.events).toEqual([published]), WAIT);
    expect(names).toEqual(['conversation.updated']);
  });

  it('delivers the events published together (one transaction\'s) in their order, each to its own workspace', async () => {
    const other = await seedTenant(api.config, 'Live gateway elsewhere');
    const ours = await connect(api, token('admin'));
    const batch = [event(tenant.workspaceId), event(other.workspaceId), event(tenant.workspaceId), event(tenant.workspaceId)];
    await api.app.get(LivePublisher).publishAll(batch);
    await vi.waitFor(() => expect(ours.events).toEqual([batch[0], batch[2], batch[3]]), WAIT);
  });

  it('ends the connection when its access token expires', async () => {
    // Issued so that it has about a second left.
    const almostExpired = token('admin', Math.floor(Date.now() / 1000) - api.config.auth.accessTokenTtlSeconds + 2);
    const client = await connect(api, almostExpired);
    await vi.waitFor(() => expect(client.disconnects).toEqual(['io server disconnect']), WAIT);
  });

  it('keeps installations sharing one Redis apart by REDIS_PREFIX', async () => {
    const elsewhere = await ApiHarness.start({ REDIS_PREFIX: `${api.config.redis.keyPrefix}-other` });
    try {
      const theirs = await connect(elsewhere, token('owner'));
      const ours = await connect(api, token('owner'));
      const published = event(tenant.workspaceId);
      await api.app.get(LivePublisher).publish(published);
      await vi.waitFor(() => expect(ours.events).toContainEqual(published), WAIT);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(theirs.events).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('closes its own sockets at shutdown, and only those: the other instances keep theirs', async () => {
    const own = await ApiHarness.start();
    const client = await connect(own, token('owner'));
    const staying = await connect(api, token('owner'));
    expect(own.app.get(LiveGateway).connections).toBe(1);
    await own.close();
    await vi.waitFor(() => expect(client.disconnects).toEqual(['io server disconnect']), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(staying.disconnects).toEqual([]);
    expect(staying.socket.connected).toBe(true);
  });
});
