import { Injectable } from '@nestjs/common';
import { InboundEventEntity, type InboundEventKind, type TenantTx } from '#database';

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
  /** Stores the event unless the inbox already has one with this provider id; false for such a redelivery. */
  async insertIfNew(tx: TenantTx, event: NewInboundEvent): Promise<boolean> {
    const rows: unknown[] = await tx.manager.query(
      `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event, raw, received_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
       ON CONFLICT (workspace_id, inbox_id, provider_event_id) DO NOTHING
       RETURNING id`,
      [event.id, tx.workspaceId, event.inboxId, event.providerEventId, event.kind, event.eventJson, event.raw, event.receivedAt],
    );
    return rows.length > 0;
  }

  /** The event, locked until the transaction ends: two runs of the same job take turns, the second finds it processed. */
  async findForUpdate(tx: TenantTx, id: string): Promise<InboundEventEntity | null> {
    return tx.manager.findOne(InboundEventEntity, { where: { workspaceId: tx.workspaceId, id }, lock: { mode: 'pessimistic_write' } });
  }

  async findById(tx: TenantTx, id: string): Promise<InboundEventEntity | null> {
    return tx.manager.findOneBy(InboundEventEntity, { workspaceId: tx.workspaceId, id });
  }

  async markProcessed(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.update(InboundEventEntity, { workspaceId: tx.workspaceId, id }, { processedAt: () => 'now()', error: null });
  }

  /** Why processing failed (this try, or for good); the event stays unprocessed, for a replay. */
  async recordError(tx: TenantTx, id: string, error: string): Promise<void> {
    await tx.manager.update(InboundEventEntity, { workspaceId: tx.workspaceId, id }, { error: error.slice(0, 2000) });
  }
}
