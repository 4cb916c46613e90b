import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Channel } from '#domain';

@Entity('inboxes')
export class InboxEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('text') name: string;
  @Column('text') channel: Channel;
  /** The channel's non-secret settings. */
  @Column('jsonb') config: Record<string, unknown>;
  /** The channel's secrets, AES-256-GCM encrypted (see CredentialCipher); never leaves the server. */
  @Column('text', { nullable: true }) secrets: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column('timestamptz', { name: 'deleted_at', nullable: true }) deletedAt: Date | null;
}
