import { Injectable } from '@nestjs/common';
import { InboundEventEntity, type InboundEventKind, type InboxEntity, type TenantTx } from '#database';
import type { StagedJob } from '#queue';

export interface NewInboundEvent {
  id: string;
  inboxId: string;
  providerEventId: string;
  kind: InboundEventKind;
  /** The parsed event as JSON text (see eventJson). */
  eventJson: string;
  raw: string | null;
  receivedAt: Date;
}

/** Queries of inbound_events: provider events stored before processing, one per provider event id. */
@Injectable()
export class InboundEventsRepository {
  /**
   * Stores the event unless the inbox already has one with this provider id; false for such a redelivery.
   * `job` (an outbox row, prepared by Outbox.prepare) is written with the event, in the same statement,
   * only when the event is new.
   */
  async insertIfNew(tx: TenantTx, event: NewInboundEvent, job?: StagedJob): Promise<boolean> {
    const params: unknown[] = [event.id, tx.workspaceId, event.inboxId, event.providerEventId, event.kind, event.eventJson, event.raw, event.receivedAt];
    const insert = `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event, raw, received_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
       ON CONFLICT (workspace_id, inbox_id, provider_event_id) DO NOTHING
       RETURNING id`;
    if (!job) return ((await tx.manager.query(insert, params)) as unknown[]).length > 0;
    params.push(job.id, job.jobName, job.payload);
    const rows: unknown[] = await tx.manager.query(
      `WITH e AS (${insert}),
       o AS (INSERT INTO outbox (id, workspace_id, job_name, payload) SELECT $9, $2, $10, $11::jsonb FROM e)
       SELECT id FROM e`,
      params,
    );
    return rows.length > 0;
  }

  /** The event, locked until the transaction ends: two runs of the same job take turns, the second finds it processed. */
  async findForUpdate(tx: TenantTx, id: string): Promise<InboundEventEntity | null> {
    const rows: InboundEventEntity[] = await tx.manager.query(
      `SELECT id, workspace_id AS "workspaceId", inbox_id AS "inboxId", provider_event_id AS "providerEventId", kind, event, raw,
              received_at AS "receivedAt", processed_at AS "processedAt", error
       FROM inbound_events WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  /**
   * findForUpdate with the event's inbox (null when deleted), in one statement. The inbox is read as of
   * the statement's start, even if it waited for the lock: its config does not depend on the event.
   */
  async findForUpdateWithInbox(tx: TenantTx, id: string): Promise<{ event: InboundEventEntity; inbox: InboxEntity | null } | null> {
    const rows: Array<InboundEventEntity & { inbox: InboxEntity | null }> = await tx.manager.query(
      `SELECT e.id, e.workspace_id AS "workspaceId", e.inbox_id AS "inboxId", e.provider_event_id AS "providerEventId", e.kind, e.event,
              e.raw, e.received_at AS "receivedAt", e.processed_at AS "processedAt", e.error,
              CASE WHEN i.id IS NULL THEN NULL ELSE json_build_object(
                'id', i.id, 'workspaceId', i.workspace_id, 'name', i.name, 'channel', i.channel, 'config', i.config, 'secrets', i.secrets,
                'createdAt', i.created_at, 'updatedAt', i.updated_at, 'deletedAt', i.deleted_at) END AS inbox
       FROM inbound_events e
       LEFT JOIN inboxes i ON i.workspace_id = e.workspace_id AND i.id = e.inbox_id AND i.deleted_at IS NULL
       WHERE e.workspace_id = $1 AND e.id = $2
       FOR UPDATE OF e`,
      [tx.workspaceId, id],
    );
    const row = rows[0];
    if (!row) return null;
    const { inbox, ...event } = row;
    // Timestamps come back as text inside JSON.
    const dated = inbox ? { ...inbox, createdAt: new Date(inbox.createdAt), updatedAt: new Date(inbox.updatedAt), deletedAt: null } : null;
    return { event, inbox: dated };
  }

  async findById(tx: TenantTx, id: string): Promise<InboundEventEntity | null> {
    return tx.manager.findOneBy(InboundEventEntity, { workspaceId: tx.workspaceId, id });
  }

  async markProcessed(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.query(`UPDATE inbound_events SET processed_at = now(), error = NULL WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, id]);
  }

  /** Why processing failed (this try, or for good); the event stays unprocessed, for a replay. */
  async recordError(tx: TenantTx, id: string, error: string): Promise<void> {
    await tx.manager.update(InboundEventEntity, { workspaceId: tx.workspaceId, id }, { error: error.slice(0, 2000) });
  }
}
