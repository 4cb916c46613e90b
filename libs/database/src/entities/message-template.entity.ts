import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const TEMPLATE_STATUSES = ['approved', 'pending', 'rejected'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];
export const TEMPLATE_CATEGORIES = ['marketing', 'utility', 'authentication'] as const;
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number];
export const TEMPLATE_SOURCES = ['provider', 'manual'] as const;
export type TemplateSource = (typeof TEMPLATE_SOURCES)[number];

/** A message template of one inbox: only an approved one is sendable (WhatsApp: outside the 24 h window). */
@Entity('message_templates')
export class MessageTemplateEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'workspace_id' }) workspaceId: string;
  @Column('uuid', { name: 'inbox_id' }) inboxId: string;
  @Column('text') name: string;
  @Column('text') language: string;
  @Column('text', { nullable: true }) category: TemplateCategory | null;
  @Column('text') status: TemplateStatus;
  /** The body text, placeholders written {{1}}, {{2}}... */
  @Column('text') body: string;
  /** The provider's components as it gave them (header, body, footer, buttons); [] for a manual one. */
  @Column('jsonb') components: unknown[];
  @Column('integer', { name: 'parameter_count' }) parameterCount: number;
  @Column('text') source: TemplateSource;
  @Column('text', { name: 'provider_template_id', nullable: true }) providerTemplateId: string | null;
  @Column('timestamptz', { name: 'synced_at', nullable: true }) syncedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
