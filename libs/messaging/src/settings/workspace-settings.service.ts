import { Injectable } from '@nestjs/common';
import { CHANNELS, type Channel, DomainError } from '#domain';
import { TenantDb } from '#database';
import { FallbackRepository } from '../delivery/fallback.repository.js';

/** The workspace's own settings. */
export interface WorkspaceSettingsView {
  /**
   * The default fallback policy: channels in order of preference. A reply that names no `fallback`
   * goes on, if its first identity fails, over the contact's identity on each of these channels in turn.
   */
  fallbackChannels: Channel[];
}

/** GET and PATCH /v1/workspace/settings. */
@Injectable()
export class WorkspaceSettingsService {
  constructor(
    private readonly db: TenantDb,
    private readonly repository: FallbackRepository,
  ) {}

  async get(workspaceId: string): Promise<WorkspaceSettingsView> {
    return this.db.run(workspaceId, async (tx) => ({ fallbackChannels: (await this.repository.fallbackChannels(tx)) as Channel[] }));
  }

  async update(workspaceId: string, change: { fallbackChannels?: string[] }): Promise<WorkspaceSettingsView> {
    const channels = change.fallbackChannels;
    if (channels !== undefined) {
      const unknown = channels.filter((channel) => !(CHANNELS as readonly string[]).includes(channel));
      if (unknown.length > 0 || new Set(channels).size !== channels.length) {
        const message = unknown.length > 0 ? `fallbackChannels has unknown channels: ${unknown.join(', ')}` : 'fallbackChannels lists a channel twice';
        throw DomainError.invalid('request.invalid', 'The request has invalid fields', [{ field: 'fallbackChannels', message }]);
      }
    }
    return this.db.run(workspaceId, async (tx) => {
      if (channels !== undefined) await this.repository.setFallbackChannels(tx, channels);
      return { fallbackChannels: (await this.repository.fallbackChannels(tx)) as Channel[] };
    });
  }
}
