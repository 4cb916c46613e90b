import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
} from 'class-validator';
import {
  CONVERSATION_STATUSES,
  type ConversationStatus,
  MESSAGE_DIRECTIONS,
  MESSAGE_STATUSES,
  MESSAGE_TYPES,
  type MessageDirection,
  type MessageStatus,
  type MessageType,
  PRIORITIES,
  type Priority,
} from '#domain';
import type { ConversationRow, MessagePreview } from '#messaging';
import { PageQueryDto } from '../http/pagination.dto.js';
import { iso, OptionalNotNull } from './common.dto.js';

const UUID_EXAMPLE = '01936f8e-a1b2-7c3d-8e4f-5a6b7c8d9e0f';

export class ConversationQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: CONVERSATION_STATUSES, example: 'open' })
  @IsOptional()
  @IsIn(CONVERSATION_STATUSES)
  status?: ConversationStatus;

  @ApiPropertyOptional({ format: 'uuid', description: 'Assigned to this member', example: UUID_EXAMPLE })
  @IsOptional()
  @IsUUID()
  assigneeId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Assigned to this team', example: UUID_EXAMPLE })
  @IsOptional()
  @IsUUID()
  teamId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The customer last wrote on this inbox', example: UUID_EXAMPLE })
  @IsOptional()
  @IsUUID()
  inboxId?: string;

  @ApiPropertyOptional({ description: 'Carries this label (by name)', example: 'vip' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  label?: string;

  @ApiPropertyOptional({ description: 'Search the contact (name, email, phone) and the messages (words or any substring)', example: 'refund' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}

export class CreateConversationDto {
  @ApiProperty({ format: 'uuid', description: 'The contact to open a conversation with', example: UUID_EXAMPLE })
  @IsUUID()
  contactId: string;
}

export class UpdateConversationDto {
  @ApiPropertyOptional({ enum: CONVERSATION_STATUSES, example: 'snoozed' })
  @OptionalNotNull()
  @IsIn(CONVERSATION_STATUSES)
  status?: ConversationStatus;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, description: 'A member of the workspace, or null', example: UUID_EXAMPLE })
  @IsOptional()
  @IsUUID()
  assigneeId?: string | null;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, description: 'A team of the workspace, or null', example: UUID_EXAMPLE })
  @IsOptional()
  @IsUUID()
  teamId?: string | null;

  @ApiPropertyOptional({ enum: PRIORITIES, example: 'high' })
  @OptionalNotNull()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @ApiPropertyOptional({ type: [String], description: 'Label names; each must exist (GET /v1/labels)', example: ['vip', 'refund'] })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(100, { each: true })
  labels?: string[];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Required (and in the future) when status is snoozed',
    example: '2025-12-01T09:00:00.000Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  snoozedUntil?: string | null;
}

export class ContactSummaryDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id: string;
  @ApiProperty({ type: String, nullable: true, example: '王小明' }) name: string | null;
}

export class MessagePreviewDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id: string;
  @ApiProperty({ enum: MESSAGE_DIRECTIONS, example: 'in' }) direction: MessageDirection;
  @ApiProperty({ enum: MESSAGE_TYPES, example: 'text' }) type: MessageType;
  @ApiProperty({ description: 'The first 200 characters', example: 'Can I change my booking to Friday?' }) body: string;
  @ApiProperty({ enum: MESSAGE_STATUSES, example: 'received' }) status: MessageStatus;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) createdAt: string;

  static from(preview: MessagePreview): MessagePreviewDto {
    return { ...preview, createdAt: preview.createdAt.toISOString() };
  }
}

export class ConversationDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id: string;
  @ApiProperty({ type: ContactSummaryDto }) contact: ContactSummaryDto;
  @ApiProperty({ enum: CONVERSATION_STATUSES, example: 'open' }) status: ConversationStatus;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE }) assigneeId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null }) teamId: string | null;
  @ApiProperty({ enum: PRIORITIES, example: 'none' }) priority: Priority;
  @ApiProperty({ type: [String], example: ['vip'] }) labels: string[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null }) snoozedUntil: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The inbox the customer last wrote on', example: UUID_EXAMPLE })
  lastInboxId: string | null;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) lastActivityAt: string;
  @ApiProperty({ type: MessagePreviewDto, nullable: true }) lastMessage: MessagePreviewDto | null;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:00:00.000Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) updatedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null }) resolvedAt: string | null;

  static from(row: ConversationRow): ConversationDto {
    return {
      id: row.id,
      contact: { id: row.contactId, name: row.contactName },
      status: row.status,
      assigneeId: row.assigneeId,
      teamId: row.teamId,
      priority: row.priority,
      labels: row.labels,
      snoozedUntil: iso(row.snoozedUntil),
      lastInboxId: row.lastInboxId,
      lastActivityAt: row.lastActivityAt.toISOString(),
      lastMessage: row.lastMessage ? MessagePreviewDto.from(row.lastMessage) : null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      resolvedAt: iso(row.resolvedAt),
    };
  }
}

export class ConversationPageDto {
  @ApiProperty({ type: [ConversationDto] }) data: ConversationDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}
