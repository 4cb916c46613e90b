import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type Channel, isUuid } from '#domain';
import { DATA_SOURCE } from '#database';

const MAX_KNOWN_ROUTES = 10_000;

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
  /**
   * Routes found, kept: an inbox never changes workspace or channel, so a kept route cannot be wrong,
   * only outlive its inbox, and the caller reads the (undeleted) inbox in the workspace anyway. Saves
   * a round trip on every provider call. Bounded: the oldest entries go first.
   */
  private readonly known = new Map<string, InboxRoute>();

  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /**
   * The inbox's workspace and channel; null when there is no such (undeleted) inbox. A route found
   * earlier is answered from memory, even if the inbox was deleted since: the caller's own read of
   * the inbox in its workspace says so.
   */
  async find(inboxId: string): Promise<InboxRoute | null> {
    if (!isUuid(inboxId)) return null;
    const key = inboxId.toLowerCase();
    const cached = this.known.get(key);
    if (cached) return cached;
    const rows: Array<{ workspace_id: string; channel: Channel }> = await this.dataSource.query(
      'SELECT workspace_id, channel FROM ferry_inbox_route($1)',
      [inboxId],
    );
    const row = rows[0];
    if (!row) return null;
    const route = { workspaceId: row.workspace_id, channel: row.channel };
    if (this.known.size >= MAX_KNOWN_ROUTES) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, route);
    return route;
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
