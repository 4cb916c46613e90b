import { Column, Entity, PrimaryColumn } from 'typeorm';

export type InboundEventKind = 'message' | 'status' | 'contact';

/**
 * A provider's event as the hook received it, before any processing: the parsed event (JSON, dates
 * as ISO strings) and the raw body for audit. Unique per (workspace, inbox, provider event id).
 */
@Entity('inbound_events')
export class InboundEventEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('uuid', { name: 'inbox_id' }) inboxId: string;
  @Column('text', { name: 'provider_event_id' }) providerEventId: string;
  @Column('text') kind: InboundEventKind;
  @Column('jsonb') event: unknown;
  @Column('text', { nullable: true }) raw: string | null;
  @Column('timestamptz', { name: 'received_at' }) receivedAt: Date;
  @Column('timestamptz', { name: 'processed_at', nullable: true }) processedAt: Date | null;
  @Column('text', { nullable: true }) error: string | null;
}
