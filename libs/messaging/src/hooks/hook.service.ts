import { Inject, Injectable } from '@nestjs/common';
import { channelInbound, type HookEvent, type HookReply, type HookRequest } from '#channels';
import { CHANNELS, type Channel, DomainError, uuidv7 } from '#domain';
import { GroupCommit, TenantDb } from '#database';
import { Outbox, type StagedJob } from '#queue';
import { type AdapterLookup, CHANNEL_ADAPTERS } from '../delivery/channel-adapters.js';
import { type InboxCredentials, InboxesService } from '../inboxes/inboxes.service.js';
import { type BatchedInboundEvent, InboundEventsRepository } from './inbound-events.repository.js';
import { type InboxRoute, InboxRoutes } from './inbox-routes.js';
import { eventJson, rawBodyText } from './stored-event.js';

const ACCEPTED: HookReply = { status: 200, contentType: 'text/plain; charset=utf-8', body: '' };

/** How long an inbox's decrypted credentials serve its hook calls before they are read again. */
const CREDENTIALS_TTL_MS = 5_000;
const MAX_CACHED_CREDENTIALS = 10_000;
/** Payloads above this size are not batched with others. */
const SHARED_BATCH_MAX_BYTES = 64 * 1024;

export interface StoredEvents {
  /** Events this call stored (and queued) for the first time. */
  stored: number;
  /** Events already stored by an earlier delivery of the same provider event: nothing was done. */
  duplicates: number;
}

interface StoreRequest {
  inboxId: string;
  events: HookEvent[];
  raw: string | null;
  receivedAt: Date;
}

/**
 * A provider's call to `/hooks/<channel>/<inboxId>`: find the inbox's workspace, verify the call on its
 * raw bytes, parse it, store its events with their processing jobs, then answer. Nothing else happens
 * on this path (no provider call, no message processing): WeChat wants its answer within 5 seconds,
 * and a provider that gets no answer sends again. A redelivered event is a no-op.
 *
 * Speed, at thousands of calls a second:
 * - credentials: an inbox's decrypted config is kept for CREDENTIALS_TTL_MS. A call that fails to
 *   verify or parse with kept credentials is tried once more with fresh ones, so a rotated secret
 *   works at once; an old secret keeps verifying for at most that long after a rotation (and the
 *   events of an inbox deleted in that time are stored, then failed by the worker: no inbox).
 * - group commit: the events of concurrent calls for one workspace are stored in one transaction
 *   and one statement, which also writes one `inbound.process` job for all of their messages (the
 *   worker processes them together). Each call is answered once that transaction has committed.
 */
@Injectable()
export class HookService {
  private readonly credentials = new Map<string, { config: InboxCredentials['config']; until: number }>();
  private readonly batches = new GroupCommit<string, StoreRequest, StoredEvents>((workspaceId, requests) => this.storeBatch(workspaceId, requests));

  constructor(
    private readonly db: TenantDb,
    private readonly routes: InboxRoutes,
    private readonly inboxes: InboxesService,
    private readonly events: InboundEventsRepository,
    private readonly outbox: Outbox,
    @Inject(CHANNEL_ADAPTERS) private readonly adapters: AdapterLookup,
  ) {}

  /**
   * Throws inbox.not_found (404: no such inbox, or not this channel's), hook.invalid_signature (401,
   * nothing stored) or hook.malformed (400, nothing stored); otherwise answers what the provider expects.
   */
  async receive(channel: string, inboxId: string, request: HookRequest): Promise<HookReply> {
    const route = isProviderChannel(channel) ? await this.routes.find(inboxId) : null;
    if (!route || route.channel !== channel) throw DomainError.notFound('inbox');
    const kept = this.credentials.get(inboxId);
    if (kept && kept.until > Date.now()) {
      try {
        return await this.handle(route, inboxId, request, kept.config);
      } catch (error) {
        // Maybe credentials changed since they were kept: once more with fresh ones.
        if (!(error instanceof DomainError) || (error.code !== 'hook.invalid_signature' && error.code !== 'hook.malformed')) throw error;
      }
    }
    return this.handle(route, inboxId, request, await this.freshCredentials(route.workspaceId, inboxId));
  }

  /**
   * Stores events that arrived for an inbox by another way than its hook (Ferry's SMTP listener),
   * exactly as the hook does.
   */
  async store(workspaceId: string, inboxId: string, events: HookEvent[], raw: Buffer, receivedAt: Date): Promise<StoredEvents> {
    if (events.length === 0) return { stored: 0, duplicates: 0 };
    const request = { inboxId, events, raw: rawBodyText(raw), receivedAt };
    // A large payload (a mail with attachments) is stored on its own: a batch statement stays small.
    if (raw.length > SHARED_BATCH_MAX_BYTES) return (await this.storeBatch(workspaceId, [request]))[0]!;
    return this.batches.submit(workspaceId, request);
  }

  private async handle(route: InboxRoute, inboxId: string, request: HookRequest, config: InboxCredentials['config']): Promise<HookReply> {
    const adapter = this.adapters(route.channel);
    const outcome = adapter.verify(request, config);
    if (outcome.kind === 'handshake') return outcome.reply;
    if (outcome.kind === 'rejected') throw DomainError.unauthenticated('hook.invalid_signature', outcome.reason);
    // A verified GET carries events too where the provider is set to GET (Twilio): the adapter reads them.
    const parsed = await adapter.parse(request, config);
    await this.store(route.workspaceId, inboxId, parsed.events, request.rawBody, request.receivedAt);
    return parsed.reply ?? ACCEPTED;
  }

  /** The inbox's credentials read now (inbox.not_found when it is gone), kept for the next calls. */
  private async freshCredentials(workspaceId: string, inboxId: string): Promise<InboxCredentials['config']> {
    const { config } = await this.db.run(workspaceId, (tx) => this.inboxes.credentials(tx, inboxId));
    this.credentials.delete(inboxId);
    if (this.credentials.size >= MAX_CACHED_CREDENTIALS) this.credentials.delete(this.credentials.keys().next().value!);
    this.credentials.set(inboxId, { config, until: Date.now() + CREDENTIALS_TTL_MS });
    return config;
  }

  /**
   * One transaction for the events of several calls: each event not seen before gets its row and
   * its job (published after commit, or by the relay). Message and contact events share one
   * `inbound.process` job; each receipt gets its own `status.apply` job.
   */
  private async storeBatch(workspaceId: string, requests: StoreRequest[]): Promise<StoredEvents[]> {
    const batchJobId = uuidv7();
    const rows: BatchedInboundEvent[] = requests.flatMap((request) =>
      request.events.map((event) => ({
        id: uuidv7(),
        inboxId: request.inboxId,
        providerEventId: event.providerEventId,
        kind: event.kind,
        eventJson: eventJson(event),
        raw: request.raw,
        receivedAt: request.receivedAt,
        jobId: event.kind === 'status' ? uuidv7() : batchJobId,
      })),
    );
    return this.db.run(workspaceId, async (tx) => {
      const stored = await this.events.insertBatch(tx, rows, batchJobId);
      const storedIds = new Set(stored.map((event) => event.id));
      const batched = stored.filter((event) => event.kind !== 'status').map((event) => event.id);
      if (batched.length > 0) this.outbox.publishAfterCommit(tx, staged(batchJobId, 'inbound.process', { workspaceId, eventIds: batched }));
      for (const row of rows) {
        if (row.kind === 'status' && storedIds.has(row.id)) this.outbox.publishAfterCommit(tx, staged(row.jobId, 'status.apply', { workspaceId, eventId: row.id }));
      }
      let offset = 0;
      return requests.map((request) => {
        const own = rows.slice(offset, (offset += request.events.length));
        const fresh = own.filter((row) => storedIds.has(row.id)).length;
        return { stored: fresh, duplicates: own.length - fresh };
      });
    });
  }
}

/** A job whose outbox row the batch statement wrote (id and payload as written there). */
function staged<N extends 'inbound.process' | 'status.apply'>(id: string, jobName: N, data: StagedJob<N>['data']): StagedJob<N> {
  return { id, jobName, payload: JSON.stringify(data), data };
}

function isProviderChannel(channel: string): channel is Channel {
  return (CHANNELS as readonly string[]).includes(channel) && channelInbound(channel as Channel) === 'provider';
}
