import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ConversationStatus, Priority } from '#domain';

@Entity('conversations')
export class ConversationEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('uuid', { name: 'contact_id' }) contactId: string;
  @Column('text') status: ConversationStatus;
  @Column('uuid', { name: 'assignee_id', nullable: true }) assigneeId: string | null;
  @Column('uuid', { name: 'team_id', nullable: true }) teamId: string | null;
  @Column('text') priority: Priority;
  @Column('text', { array: true }) labels: string[];
  @Column('timestamptz', { name: 'snoozed_until', nullable: true }) snoozedUntil: Date | null;
  @Column('uuid', { name: 'last_inbox_id', nullable: true }) lastInboxId: string | null;
  @Column('timestamptz', { name: 'last_activity_at' }) lastActivityAt: Date;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column('timestamptz', { name: 'resolved_at', nullable: true }) resolvedAt: Date | null;
}
