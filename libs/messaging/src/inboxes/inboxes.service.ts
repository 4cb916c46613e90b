import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { type Channel, decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type InboxEntity, TenantDb, type TenantTx } from '#database';
import { channelInbound, channelSecretPaths, type ChannelConfigs, joinSecrets, mergeConfig, parseChannelConfig, splitSecrets } from '#channels';
import { EventWriter } from '../events/event-writer.js';
import { CredentialCipher } from './credential-cipher.js';
import { InboxesRepository } from './inboxes.repository.js';

/** An inbox as the API answers it: secrets masked, the address to register at the provider. */
export interface InboxView {
  id: string;
  name: string;
  channel: Channel;
  config: Record<string, unknown>;
  /** Where the provider (or the integrator, for `api`) sends this inbox's inbound; null for webchat. */
  webhookUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateInboxInput {
  name: string;
  channel: Channel;
  /** Unchecked input: validated against the channel's schema here. */
  config: unknown;
}

export interface UpdateInboxInput {
  name?: string;
  /** A merge patch: omitted fields (and secrets) stay, `null` clears an optional field. */
  config?: Record<string, unknown>;
}

/** An inbox with its full decrypted config, narrowed by channel: for senders and hook verifiers only. */
export type InboxCredentials = { [C in Channel]: { id: string; name: string; channel: C; config: ChannelConfigs[C] } }[Channel];

/** How many opened secrets a process keeps (one entry per inbox and sealed value). */
const OPENED_SECRETS_MAX = 1000;

/** Inboxes: one connected channel account each, its credentials sealed at rest and never answered. */
@Injectable()
export class InboxesService {
  /**
   * Secrets opened for sending, by inbox id and sealed value: a send reads the sealed value with its
   * message, and a changed secret is a new sealed value (a fresh nonce each time), so an entry can
   * never be stale; there is nothing to invalidate. Bounded: emptied when full.
   */
  private readonly opened = new Map<string, Record<string, string>>();

  constructor(
    private readonly db: TenantDb,
    private readonly inboxes: InboxesRepository,
    private readonly cipher: CredentialCipher,
    @Inject(CONFIG) private readonly config: FerryConfig,
    private readonly events: EventWriter,
  ) {}

  async list(workspaceId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<InboxView>> {
    const after = decodeCursor(page.cursor, isUuid);
    return this.db.run(workspaceId, async (tx) => {
      const rows = await this.inboxes.listAfter(tx, after?.id ?? null, page.limit + 1);
      const { data, nextCursor } = pageOf(rows, page.limit, (row) => ({ key: row.id, id: row.id }));
      return { data: data.map((row) => this.view(row)), nextCursor };
    });
  }

  async get(workspaceId: string, id: string): Promise<InboxView> {
    return this.db.run(workspaceId, async (tx) => this.view(await this.require(tx, id)));
  }

  async create(workspaceId: string, input: CreateInboxInput): Promise<InboxView> {
    const config = this.parse(input.channel, input.config);
    const id = uuidv7();
    return this.db.run(workspaceId, async (tx) => {
      const row = await this.inboxes.insert(tx, { id, name: input.name.trim(), channel: input.channel, ...this.seal(id, input.channel, config) });
      return this.view(row);
    });
  }

  async update(workspaceId: string, id: string, input: UpdateInboxInput): Promise<InboxView> {
    return this.db.run(workspaceId, async (tx) => {
      const row = await this.require(tx, id, { lock: true });
      const changes: Parameters<InboxesRepository['update']>[2] = {};
      if (input.name !== undefined) changes.name = input.name.trim();
      if (input.config !== undefined) {
        const merged = mergeConfig(this.fullConfig(row), input.config, channelSecretPaths(row.channel));
        Object.assign(changes, this.seal(row.id, row.channel, this.parse(row.channel, merged)));
      }
      if (Object.keys(changes).length > 0) await this.inboxes.update(tx, row.id, changes);
      const view = this.view(await this.require(tx, row.id));
      if (Object.keys(changes).length > 0) await this.events.inbox(tx, view);
      return view;
    });
  }

  /** Soft delete: the history keeps referring to the inbox; it is gone from lists and lookups. */
  async remove(workspaceId: string, id: string): Promise<void> {
    await this.db.run(workspaceId, async (tx) => {
      const row = isUuid(id) ? await this.inboxes.findByIdForUpdate(tx, id) : null;
      if (!row || !(await this.inboxes.softDelete(tx, id))) throw DomainError.notFound('inbox');
      await this.events.inbox(tx, this.view(row), new Date());
    });
  }

  /** The inbox with its decrypted config, inside the caller's transaction (delivery, hook verification). */
  async credentials(tx: TenantTx, inboxId: string): Promise<InboxCredentials> {
    const row = await this.require(tx, inboxId);
    return { id: row.id, name: row.name, channel: row.channel, config: this.fullConfig(row) } as InboxCredentials;
  }

  /** Credentials from an inbox row the caller has read already (delivery reads it with the message). */
  credentialsOf(row: { id: string; name: string; channel: Channel; config: Record<string, unknown>; secrets: string | null }): InboxCredentials {
    let secrets: Record<string, string> = {};
    if (row.secrets !== null) {
      const key = `${row.id}:${row.secrets}`;
      const cached = this.opened.get(key);
      if (cached) {
        secrets = cached;
      } else {
        secrets = JSON.parse(this.cipher.open(row.secrets, row.id)) as Record<string, string>;
        if (this.opened.size >= OPENED_SECRETS_MAX) this.opened.clear();
        this.opened.set(key, secrets);
      }
    }
    return { id: row.id, name: row.name, channel: row.channel, config: joinSecrets(row.config, secrets) } as InboxCredentials;
  }

  private async require(tx: TenantTx, id: string, options: { lock?: boolean } = {}): Promise<InboxEntity> {
    const row = !isUuid(id) ? null : options.lock ? await this.inboxes.findByIdForUpdate(tx, id) : await this.inboxes.findById(tx, id);
    if (!row) throw DomainError.notFound('inbox');
    return row;
  }

  private parse(channel: Channel, config: unknown): Record<string, unknown> {
    const parsed = parseChannelConfig(channel, config, { allowPrivateUrls: this.config.allowPrivateUrls });
    if (!parsed.ok) throw DomainError.invalid('inbox.invalid_config', `The ${channel} config is not valid`, parsed.errors);
    return parsed.value as unknown as Record<string, unknown>;
  }

  /** Splits the secrets out of a valid config and seals them, bound to the inbox id. */
  private seal(id: string, channel: Channel, config: Record<string, unknown>): { config: Record<string, unknown>; secrets: string | null } {
    const { open, secrets } = splitSecrets(config, channelSecretPaths(channel));
    return { config: open, secrets: Object.keys(secrets).length > 0 ? this.cipher.seal(JSON.stringify(secrets), id) : null };
  }

  private secretsOf(row: InboxEntity): Record<string, string> {
    return row.secrets === null ? {} : (JSON.parse(this.cipher.open(row.secrets, row.id)) as Record<string, string>);
  }

  private fullConfig(row: InboxEntity): Record<string, unknown> {
    return joinSecrets(row.config, this.secretsOf(row));
  }

  private view(row: InboxEntity): InboxView {
    const publicUrl = this.config.http.publicUrl;
    const inbound = channelInbound(row.channel);
    return {
      id: row.id,
      name: row.name,
      channel: row.channel,
      config: joinSecrets(row.config, this.secretsOf(row), true),
      webhookUrl:
        inbound === 'provider' ? `${publicUrl}/hooks/${row.channel}/${row.id}` : inbound === 'integrator' ? `${publicUrl}/v1/inboxes/${row.id}/inbound` : null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }
}
