import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Channel, MessageDirection, MessageStatus, MessageType } from '#domain';

export interface MessageAttachment {
  kind: 'image' | 'audio' | 'video' | 'file' | 'location' | 'link' | 'sticker';
  /** A provider media id or URL; a location's "lat,lng". */
  ref: string;
  mimeType?: string;
  name?: string;
}

export interface TemplateRef {
  name: string;
  language: string;
  parameters: string[];
}

@Entity('messages')
export class MessageEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('uuid', { name: 'conversation_id' }) conversationId: string;
  @Column('text') direction: MessageDirection;
  @Column('text') type: MessageType;
  @Column('text') body: string;
  @Column('jsonb', { nullable: true }) template: TemplateRef | null;
  @Column('text') status: MessageStatus;
  @Column('uuid', { name: 'identity_id', nullable: true }) identityId: string | null;
  @Column('uuid', { name: 'inbox_id', nullable: true }) inboxId: string | null;
  @Column('uuid', { name: 'sender_member_id', nullable: true }) senderMemberId: string | null;
  @Column('text', { name: 'external_id', nullable: true }) externalId: string | null;
  @Column('uuid', { array: true }) fallback: string[];
  @Column('text', { name: 'error_code', nullable: true }) errorCode: string | null;
  @Column('text', { name: 'error_reason', nullable: true }) errorReason: string | null;
  /** Email: this mail's Message-ID (in or out), which replies name in In-Reply-To and References. */
  @Column('text', { name: 'email_message_id', nullable: true }) emailMessageId?: string | null;
  @Column('text', { name: 'email_subject', nullable: true }) emailSubject?: string | null;
  /** Media, files, locations and links the provider sent with the message. */
  @Column('jsonb', { default: () => "'[]'" }) attachments?: MessageAttachment[];
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

/** One try to deliver a message over one identity: the ledger the thread shows. */
@Entity('delivery_attempts')
export class DeliveryAttemptEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('uuid', { name: 'message_id' }) messageId: string;
  @Column('uuid', { name: 'identity_id', nullable: true }) identityId: string | null;
  @Column('uuid', { name: 'inbox_id', nullable: true }) inboxId: string | null;
  @Column('text') channel: Channel;
  @Column('text') status: string;
  @Column('text', { name: 'provider_request_id', nullable: true }) providerRequestId: string | null;
  @Column('text', { name: 'response_code', nullable: true }) responseCode: string | null;
  @Column('text', { name: 'error_code', nullable: true }) errorCode: string | null;
  @Column('text', { nullable: true }) error: string | null;
  @Column('integer', { name: 'latency_ms', nullable: true }) latencyMs: number | null;
  /** The provider's id of the message this attempt sent (each fallback hop has its own). */
  @Column('text', { name: 'provider_message_id', nullable: true }) providerMessageId?: string | null;
  /** The furthest delivery receipt the provider reported for this attempt (sent, delivered, read, failed). */
  @Column('text', { name: 'receipt_status', nullable: true }) receiptStatus?: string | null;
  @Column('timestamptz', { name: 'receipt_at', nullable: true }) receiptAt?: Date | null;
  /** Why the worker left this attempt's identity for the next one of the route (null: it did not). */
  @Column('text', { name: 'fallback_reason', nullable: true }) fallbackReason?: string | null;
  /** When the delivery deadline check found this attempt's hop current and undelivered and decided (null: it did not). */
  @Column('timestamptz', { name: 'fallback_checked_at', nullable: true }) fallbackCheckedAt?: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
