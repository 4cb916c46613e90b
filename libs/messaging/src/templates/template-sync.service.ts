import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError, isUuid, uuidv7 } from '#domain';
import { TenantDb } from '#database';
import type { WhatsappConfig } from '#channels';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { CLOCK, type Clock } from '../reachability/clock.js';
import { TemplatesRepository } from './templates.repository.js';
import { type ProviderTemplate, WhatsappTemplatesClient } from './whatsapp-templates.client.js';

export interface TemplateSyncResult {
  /** Templates the provider listed, now stored (inserted or updated). */
  synced: number;
  /** Provider templates stored earlier that the provider no longer lists, now deleted. */
  removed: number;
  syncedAt: Date;
}

/**
 * Replaces an inbox's provider templates with the provider's current list. The provider is called
 * outside any transaction (a slow provider holds no connection); the list is then stored in one.
 * Only WhatsApp has a template API; other channels keep their templates by hand.
 */
@Injectable()
export class TemplateSyncService {
  constructor(
    private readonly db: TenantDb,
    private readonly inboxes: InboxesService,
    private readonly templates: TemplatesRepository,
    private readonly whatsapp: WhatsappTemplatesClient,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async sync(workspaceId: string, inboxId: string): Promise<TemplateSyncResult> {
    if (!isUuid(inboxId)) throw DomainError.notFound('inbox');
    const inbox = await this.db.run(workspaceId, (tx) => this.inboxes.credentials(tx, inboxId));
    if (inbox.channel !== 'whatsapp') {
      throw DomainError.conflict('templates.not_syncable', `A ${inbox.channel} inbox has no provider template list: add its templates by hand`);
    }
    const listed = await this.whatsapp.list(withBusinessAccount(inbox.config), this.config.delivery.timeoutMs);
    const syncedAt = this.clock();
    const rows = unique(listed).map((template) => ({ ...template, id: uuidv7(), inboxId }));
    const { stored, removed } = await this.db.run(workspaceId, async (tx) => {
      // Deleted while the provider answered: store nothing (and answer 404 like any missing inbox).
      await this.inboxes.credentials(tx, inboxId);
      return this.templates.replaceSynced(tx, inboxId, rows, syncedAt);
    });
    return { synced: stored, removed, syncedAt };
  }
}

function withBusinessAccount(config: WhatsappConfig): WhatsappConfig & { businessAccountId: string } {
  const { businessAccountId } = config;
  if (!businessAccountId) {
    throw DomainError.conflict('templates.not_syncable', 'Set config.businessAccountId (the WhatsApp Business Account id) on the inbox to sync its templates');
  }
  return { ...config, businessAccountId };
}

/** One per (name, language): the provider's first listing wins (one row can be updated once per statement). */
function unique(templates: ProviderTemplate[]): ProviderTemplate[] {
  const seen = new Set<string>();
  return templates.filter((template) => {
    const key = `${template.name}\u0000${template.language}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
