import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Channel } from '#domain';

@Entity('contacts')
export class ContactEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('text', { nullable: true }) name: string | null;
  @Column('text', { nullable: true }) email: string | null;
  @Column('text', { nullable: true }) phone: string | null;
  @Column('text', { nullable: true }) language: string | null;
  @Column('text', { nullable: true }) timezone: string | null;
  @Column('text', { nullable: true }) country: string | null;
  @Column('jsonb', { name: 'custom_attributes' }) customAttributes: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column('timestamptz', { name: 'deleted_at', nullable: true }) deletedAt: Date | null;
}

@Entity('contact_identities')
export class ContactIdentityEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('uuid', { name: 'contact_id' }) contactId: string;
  @Column('uuid', { name: 'inbox_id' }) inboxId: string;
  @Column('text') channel: Channel;
  @Column('text', { name: 'external_id' }) externalId: string;
  @Column('text', { name: 'display_name', nullable: true }) displayName: string | null;
  @Column('timestamptz', { name: 'last_inbound_at', nullable: true }) lastInboundAt: Date | null;
  /** LINE: the latest reply token (one free reply, valid briefly). */
  @Column('text', { name: 'reply_token', nullable: true }) replyToken?: string | null;
  @Column('timestamptz', { name: 'reply_token_expires_at', nullable: true }) replyTokenExpiresAt?: Date | null;
  /** The customer unfollowed or unsubscribed on this channel (cleared when they subscribe again). */
  @Column('timestamptz', { name: 'unsubscribed_at', nullable: true }) unsubscribedAt?: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
