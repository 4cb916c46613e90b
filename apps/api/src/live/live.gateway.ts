import type { Server as HttpServer } from 'node:http';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { CONFIG, type FerryConfig } from '#config';
import { can, DomainError } from '#domain';
import { AuthService } from '#identity';
import { liveChannelKey, liveRoomsFor } from '#messaging';
import { createRedis } from '#queue';

/** The path of the live stream on the API's own port (API.md). */
export const LIVE_PATH = '/socket.io';
/** How long shutdown waits for the clients to take their disconnect before closing the rest. */
const SHUTDOWN_FLUSH_MS = 1000;

/**
 * The dashboard's live stream: socket.io attached to the API's HTTP server. A client connects with
 * `auth: {token}` (a user access token; API keys and bad or expired tokens are refused at the
 * handshake with connect_error, `data.code` saying why), joins the rooms of what it may see, and is
 * disconnected when its token expires (it reconnects with a fresh one). Events come from the worker
 * through Redis (LivePublisher); the Redis adapter also carries them between API instances, so any
 * instance serves any workspace. Behind a balancer, use sticky sessions or the websocket transport only.
 *
 * Attached by hand rather than with @nestjs/websockets: the gateway only authenticates and joins
 * rooms (clients send nothing), and owning the Server keeps the adapter and the shutdown order here.
 */
@Injectable()
export class LiveGateway implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private io: Server | undefined;
  private redis: Redis[] = [];
  private readonly expiries = new Set<NodeJS.Timeout>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  onApplicationBootstrap(): void {
    const pub = createRedis(this.config, 'consumer');
    const sub = createRedis(this.config, 'consumer');
    this.redis = [pub, sub];
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    const io = new Server(httpServer, { path: LIVE_PATH, serveClient: false });
    io.adapter(createAdapter(pub, sub, { key: liveChannelKey(this.config) }));
    io.use((socket, next) => {
      try {
        this.admit(socket);
        next();
      } catch (error) {
        next(refusal(error));
      }
    });
    this.io = io;
  }

  /** Number of sockets connected to this instance (tests, metrics). */
  get connections(): number {
    return this.io?.engine.clientsCount ?? 0;
  }

  /** Sockets end first, while the HTTP server and Redis are still up (Nest closes those after). */
  async beforeApplicationShutdown(): Promise<void> {
    const io = this.io;
    if (!io) return;
    this.io = undefined;
    for (const timer of this.expiries) clearTimeout(timer);
    this.expiries.clear();
    // This instance's sockets only: through the Redis adapter a plain disconnectSockets() would end
    // the sockets of every API instance, and a rolling restart would drop every agent at once.
    io.local.disconnectSockets(true);
    // The disconnect packets flush before the engine closes what is left (it discards unsent data).
    const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
    while (io.engine.clientsCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // Not io.close(): it would close the HTTP server under Nest, which closes it itself.
    await io.of('/').adapter.close();
    io.engine.close();
  }

  onApplicationShutdown(): void {
    for (const redis of this.redis) redis.disconnect();
    this.redis = [];
  }

  private admit(socket: Socket): void {
    const auth: unknown = socket.handshake.auth;
    const token = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
    if (typeof token !== 'string' || token === '') {
      throw DomainError.unauthenticated('auth.missing_token', 'Connect with auth: {token: <access token>}');
    }
    const { principal, expiresAt } = this.auth.authenticateAccessToken(token);
    if (!can(principal.role, 'conversations.work')) throw DomainError.forbidden('auth.forbidden', `Your role (${principal.role}) may not do this`);
    void socket.join(liveRoomsFor(principal));
    const timer = setTimeout(() => socket.disconnect(true), Math.max(0, expiresAt.getTime() - Date.now()));
    this.expiries.add(timer);
    socket.once('disconnect', () => {
      clearTimeout(timer);
      this.expiries.delete(timer);
    });
  }
}

/** The handshake's refusal: the client's connect_error, with the DomainError's code in `data`. */
function refusal(error: unknown): Error & { data?: { code: string } } {
  const refused: Error & { data?: { code: string } } = new Error(error instanceof Error ? error.message : 'Refused');
  refused.data = { code: error instanceof DomainError ? error.code : 'auth.invalid_token' };
  return refused;
}
