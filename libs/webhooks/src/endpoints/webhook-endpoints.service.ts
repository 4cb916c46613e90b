import { Inject, Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, EVENT_TYPES, isEventType, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { TenantDb } from '#database';
import { OutboundGuard } from '#net';
import { WEBHOOK_CLOCK, type WebhookClock } from '../webhook-clock.js';
import { newWebhookSecret, PREVIOUS_SECRET_TTL_MS, WebhookSecretCipher } from '../webhook-secrets.js';
import { endpointView, type WebhookEndpointView, type WebhookEndpointWithSecret } from '../webhook-views.js';
import { type EndpointRow, WebhookEndpointsRepository } from './webhook-endpoints.repository.js';

export interface WebhookEndpointInput {
  url: string;
  events: string[];
}

export interface WebhookEndpointChange {
  url?: string;
  events?: string[];
  /** true turns a disabled endpoint back on (its failing streak starts over); false turns it off. */
  enabled?: boolean;
}

/** How many opened secrets a process keeps (about 100 bytes each). */
const OPENED_SECRETS_MAX = 10_000;

/** Integrator webhook endpoints: subscriptions to event types, each with its signing secret. */
@Injectable()
export class WebhookEndpointsService {
  /**
   * Secrets already opened, keyed by endpoint and sealed value: a sealed value always opens to the
   * same secret, so an entry is never stale. A rotation writes a new sealed value (a new key); which
   * secrets sign is still decided from the row read with each delivery (the previous one only until
   * its expiry), and the URL and enabled state are never cached.
   */
  private readonly opened = new Map<string, string>();

  constructor(
    private readonly db: TenantDb,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly cipher: WebhookSecretCipher,
    private readonly guard: OutboundGuard,
    @Inject(WEBHOOK_CLOCK) private readonly clock: WebhookClock,
  ) {}

  async list(workspaceId: string, page: { limit: number; cursor?: string }): Promise<Page<WebhookEndpointView>> {
    const after = decodeCursor(page.cursor, isUuid);
    const rows = await this.db.run(workspaceId, (tx) => this.endpoints.listPage(tx, after?.id ?? null, page.limit + 1));
    return pageOf(rows.map(endpointView), page.limit, (row) => ({ key: row.id, id: row.id }));
  }

  async get(workspaceId: string, id: string): Promise<WebhookEndpointView> {
    return endpointView(await this.require(workspaceId, id));
  }

  async create(workspaceId: string, input: WebhookEndpointInput): Promise<WebhookEndpointWithSecret> {
    const events = checkEvents(input.events);
    await this.checkUrl(input.url);
    const id = uuidv7();
    const secret = newWebhookSecret();
    const row = await this.db.run(workspaceId, (tx) =>
      this.endpoints.insert(tx, { id, url: input.url, events, secretSealed: this.cipher.seal(secret, id) }),
    );
    return { ...endpointView(row), secret };
  }

  async update(workspaceId: string, id: string, change: WebhookEndpointChange): Promise<WebhookEndpointView> {
    if (!isUuid(id)) throw DomainError.notFound('webhook_endpoint');
    const events = change.events === undefined ? undefined : checkEvents(change.events);
    if (change.url !== undefined) await this.checkUrl(change.url);
    const row = await this.db.run(workspaceId, (tx) => this.endpoints.update(tx, id, { url: change.url, events, enabled: change.enabled }));
    if (!row) throw DomainError.notFound('webhook_endpoint');
    return endpointView(row);
  }

  async remove(workspaceId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw DomainError.notFound('webhook_endpoint');
    const removed = await this.db.run(workspaceId, (tx) => this.endpoints.remove(tx, id));
    if (!removed) throw DomainError.notFound('webhook_endpoint');
  }

  /** A new secret, shown once; the one it replaces keeps signing beside it for 24 hours. */
  async rotateSecret(workspaceId: string, id: string): Promise<WebhookEndpointWithSecret> {
    if (!isUuid(id)) throw DomainError.notFound('webhook_endpoint');
    const secret = newWebhookSecret();
    const expiresAt = new Date(this.clock().getTime() + PREVIOUS_SECRET_TTL_MS);
    const row = await this.db.run(workspaceId, async (tx) => {
      const current = await this.endpoints.find(tx, id);
      if (!current) return null;
      return this.endpoints.rotateSecret(tx, id, this.cipher.seal(secret, id), current.secretSealed, expiresAt);
    });
    if (!row) throw DomainError.notFound('webhook_endpoint');
    return { ...endpointView(row), secret };
  }

  /** The secrets that sign at `now`: the current one, and the previous one within 24 h of a rotation. */
  signingSecrets(endpoint: EndpointRow, now: Date): string[] {
    const secrets = [this.open(endpoint.secretSealed, endpoint.id)];
    if (endpoint.previousSecretSealed && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
      secrets.push(this.open(endpoint.previousSecretSealed, endpoint.id));
    }
    return secrets;
  }

  private open(sealed: string, endpointId: string): string {
    const key = `${endpointId} ${sealed}`;
    let secret = this.opened.get(key);
    if (secret === undefined) {
      secret = this.cipher.open(sealed, endpointId);
      if (this.opened.size >= OPENED_SECRETS_MAX) this.opened.clear();
      this.opened.set(key, secret);
    }
    return secret;
  }

  async require(workspaceId: string, id: string): Promise<EndpointRow> {
    if (!isUuid(id)) throw DomainError.notFound('webhook_endpoint');
    const row = await this.db.run(workspaceId, (tx) => this.endpoints.find(tx, id));
    if (!row) throw DomainError.notFound('webhook_endpoint');
    return row;
  }

  private async checkUrl(url: string): Promise<void> {
    const problem = url.length > 2048 ? 'must be at most 2048 characters' : await this.guard.check(url);
    if (problem) {
      throw DomainError.invalid('webhook_endpoint.invalid_url', `The endpoint URL ${problem}`, [{ field: 'url', message: problem }]);
    }
  }
}

function checkEvents(events: string[]): string[] {
  const unknown = events.filter((event) => !isEventType(event));
  if (unknown.length > 0) {
    throw DomainError.invalid('webhook_endpoint.unknown_event_type', `Unknown event type ${unknown.join(', ')}`, [
      { field: 'events', message: `each must be one of ${EVENT_TYPES.join(', ')}` },
    ]);
  }
  if (events.length === 0) throw DomainError.invalid('webhook_endpoint.no_events', 'Subscribe to at least one event type', [{ field: 'events', message: 'must not be empty' }]);
  return [...new Set(events)];
}
