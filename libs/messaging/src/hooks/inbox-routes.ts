import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type Channel, isUuid } from '#domain';
import { DATA_SOURCE } from '#database';

export interface InboxRoute {
  workspaceId: string;
  channel: Channel;
}

/**
 * Which workspace an inbox belongs to, asked before any workspace is set: a provider's hook names only
 * the inbox. The app role sees no tenant row without a workspace, so this goes through the one
 * SECURITY DEFINER function that answers exactly this (ferry_inbox_route), and nothing else.
 */
@Injectable()
export class InboxRoutes {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** The inbox's workspace and channel; null when there is no such (undeleted) inbox. */
  async find(inboxId: string): Promise<InboxRoute | null> {
    if (!isUuid(inboxId)) return null;
    const rows: Array<{ workspace_id: string; channel: Channel }> = await this.dataSource.query(
      'SELECT workspace_id, channel FROM ferry_inbox_route($1)',
      [inboxId],
    );
    const row = rows[0];
    return row ? { workspaceId: row.workspace_id, channel: row.channel } : null;
  }

  /** The email inbox whose inboundAddress is `address` (any case); null when none claims it. */
  async findByInboundAddress(address: string): Promise<{ inboxId: string; workspaceId: string } | null> {
    const rows: Array<{ inbox_id: string; workspace_id: string }> = await this.dataSource.query(
      'SELECT inbox_id, workspace_id FROM ferry_email_inbox_route($1)',
      [address],
    );
    const row = rows[0];
    return row ? { inboxId: row.inbox_id, workspaceId: row.workspace_id } : null;
  }
}
