import { Injectable } from '@nestjs/common';
import { InboundEventEntity, type InboundEventKind, type InboxEntity, type TenantTx } from '#database';

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

/** An event of a batch, with the job (outbox row id) that will process it. */
export interface BatchedInboundEvent extends NewInboundEvent {
  jobId: string;
}

/** Queries of inbound_events: provider events stored before processing, one per provider event id. */
@Injectable()
export class InboundEventsRepository {
  /**
   * Stores the events the workspace has not stored before (by inbox and provider id; a redelivery, or
   * the same event twice in the batch, is skipped) and, in the same statement, the jobs of those
   * stored: one `inbound.process` job (`batchJobId`) naming every new message and contact event, one
   * `status.apply` job per new receipt (each event's own jobId). Each stored event keeps its job's id.
   * Answers the stored events' ids, in id order.
   */
  async insertBatch(tx: TenantTx, events: BatchedInboundEvent[], batchJobId: string): Promise<Array<{ id: string; kind: InboundEventKind }>> {
    return tx.manager.query(
      `WITH e AS (
         INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event, raw, received_at, job_id)
         SELECT t.id, $1, t.inbox_id, t.provider_event_id, t.kind, t.event, t.raw, t.received_at, t.job_id
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::timestamptz[], $9::uuid[])
              AS t(id, inbox_id, provider_event_id, kind, event, raw, received_at, job_id)
         ORDER BY t.id
         ON CONFLICT (workspace_id, inbox_id, provider_event_id) DO NOTHING
         RETURNING id, kind, job_id),
       b AS (
         INSERT INTO outbox (id, workspace_id, job_name, payload)
         SELECT $10, $1, 'inbound.process', jsonb_build_object('workspaceId', $1::text, 'eventIds', jsonb_agg(e.id ORDER BY e.id))
         FROM e WHERE e.kind <> 'status' HAVING count(*) > 0),
       s AS (
         INSERT INTO outbox (id, workspace_id, job_name, payload)
         SELECT e.job_id, $1, 'status.apply', jsonb_build_object('workspaceId', $1::text, 'eventId', e.id)
         FROM e WHERE e.kind = 'status')
       SELECT id, kind FROM e ORDER BY id`,
      [
        tx.workspaceId,
        events.map((e) => e.id),
        events.map((e) => e.inboxId),
        events.map((e) => e.providerEventId),
        events.map((e) => e.kind),
        events.map((e) => e.eventJson),
        events.map((e) => e.raw),
        events.map((e) => e.receivedAt),
        events.map((e) => e.jobId),
        batchJobId,
      ],
    );
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
    return (await this.findManyForUpdateWithInbox(tx, [id]))[0] ?? null;
  }

  /** findForUpdateWithInbox for several events (those of this workspace; in id order, locked in that order). */
  async findManyForUpdateWithInbox(tx: TenantTx, ids: string[]): Promise<Array<{ event: InboundEventEntity; inbox: InboxEntity | null }>> {
    const rows: Array<InboundEventEntity & { inbox: InboxEntity | null }> = await tx.manager.query(
      `SELECT e.id, e.workspace_id AS "workspaceId", e.inbox_id AS "inboxId", e.provider_event_id AS "providerEventId", e.kind, e.event,
              e.raw, e.received_at AS "receivedAt", e.processed_at AS "processedAt", e.error,
              CASE WHEN i.id IS NULL THEN NULL ELSE json_build_object(
                'id', i.id, 'workspaceId', i.workspace_id, 'name', i.name, 'channel', i.channel, 'config', i.config, 'secrets', i.secrets,
                'createdAt', i.created_at, 'updatedAt', i.updated_at, 'deletedAt', i.deleted_at) END AS inbox
       FROM inbound_events e
       LEFT JOIN inboxes i ON i.workspace_id = e.workspace_id AND i.id = e.inbox_id AND i.deleted_at IS NULL
       WHERE e.workspace_id = $1 AND e.id = ANY($2::uuid[])
       ORDER BY e.id
       FOR UPDATE OF e`,
      [tx.workspaceId, ids],
    );
    return rows.map(({ inbox, ...event }) => ({
      event,
      // Timestamps come back as text inside JSON.
      inbox: inbox ? { ...inbox, createdAt: new Date(inbox.createdAt), updatedAt: new Date(inbox.updatedAt), deletedAt: null } : null,
    }));
  }

  async findById(tx: TenantTx, id: string): Promise<InboundEventEntity | null> {
    return tx.manager.findOneBy(InboundEventEntity, { workspaceId: tx.workspaceId, id });
  }

  async markProcessed(tx: TenantTx, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await tx.manager.query(`UPDATE inbound_events SET processed_at = now(), error = NULL WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [
      tx.workspaceId,
      ids,
    ]);
  }

  /** Why processing failed (this try, or for good); the event stays unprocessed, for a replay. */
  async recordError(tx: TenantTx, id: string, error: string): Promise<void> {
    await tx.manager.update(InboundEventEntity, { workspaceId: tx.workspaceId, id }, { error: error.slice(0, 2000) });
  }
}
