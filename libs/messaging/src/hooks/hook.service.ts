import { Inject, Injectable } from '@nestjs/common';
import { channelInbound, type HookEvent, type HookReply, type HookRequest } from '#channels';
import { CHANNELS, type Channel, DomainError, uuidv7 } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { Outbox } from '#queue';
import { type AdapterLookup, CHANNEL_ADAPTERS } from '../delivery/channel-adapters.js';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { InboundEventsRepository } from './inbound-events.repository.js';
import { InboxRoutes } from './inbox-routes.js';
import { eventJson, jobFor, rawBodyText } from './stored-event.js';

const ACCEPTED: HookReply = { status: 200, contentType: 'text/plain; charset=utf-8', body: '' };

export interface StoredEvents {
  /** Events this call stored (and queued) for the first time. */
  stored: number;
  /** Events already stored by an earlier delivery of the same provider event: nothing was done. */
  duplicates: number;
}

/**
 * A provider's call to `/hooks/<channel>/<inboxId>`: find the inbox's workspace, verify the call on its
 * raw bytes, parse it, and store each event with its processing job in one transaction, then answer.
 * Nothing else happens on this path (no provider call, no message processing): WeChat wants its answer
 * within 5 seconds, and a provider that gets no answer sends again. A redelivered event is a no-op.
 */
@Injectable()
export class HookService {
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
    const adapter = this.adapters(route.channel);
    return this.db.run(route.workspaceId, async (tx) => {
      const { config } = await this.inboxes.credentials(tx, inboxId);
      const outcome = adapter.verify(request, config);
      if (outcome.kind === 'handshake') return outcome.reply;
      if (outcome.kind === 'rejected') throw DomainError.unauthenticated('hook.invalid_signature', outcome.reason);
      // A verified GET carries events too where the provider is set to GET (Twilio): the adapter reads them.
      const parsed = await adapter.parse(request, config);
      await this.storeIn(tx, inboxId, parsed.events, request.rawBody, request.receivedAt);
      return parsed.reply ?? ACCEPTED;
    });
  }

  /**
   * Stores events that arrived for an inbox by another way than its hook (Ferry's SMTP listener),
   * exactly as the hook does.
   */
  async store(workspaceId: string, inboxId: string, events: HookEvent[], raw: Buffer, receivedAt: Date): Promise<StoredEvents> {
    return this.db.run(workspaceId, (tx) => this.storeIn(tx, inboxId, events, raw, receivedAt));
  }

  /** Each event not seen before gets its row and its job (outbox: published after commit, or by the relay). */
  private async storeIn(tx: TenantTx, inboxId: string, events: HookEvent[], rawBody: Buffer, receivedAt: Date): Promise<StoredEvents> {
    const raw = rawBodyText(rawBody);
    let stored = 0;
    for (const event of events) {
      const id = uuidv7();
      // The event and its job: one statement, the job only when the event is new.
      const job = this.outbox.prepare(jobFor(event.kind), { workspaceId: tx.workspaceId, eventId: id });
      const created = await this.events.insertIfNew(
        tx,
        { id, inboxId, providerEventId: event.providerEventId, kind: event.kind, eventJson: eventJson(event), raw, receivedAt },
        job,
      );
      if (!created) continue;
      stored += 1;
      this.outbox.publishAfterCommit(tx, job);
    }
    return { stored, duplicates: events.length - stored };
  }
}

function isProviderChannel(channel: string): channel is Channel {
  return (CHANNELS as readonly string[]).includes(channel) && channelInbound(channel as Channel) === 'provider';
}
