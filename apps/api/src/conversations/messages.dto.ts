import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import {
  type Channel,
  CHANNELS,
  FALLBACK_REASONS,
  type FallbackReason,
  MESSAGE_DIRECTIONS,
  MESSAGE_STATUSES,
  MESSAGE_TYPES,
  type MessageDirection,
  type MessageStatus,
  type MessageType,
} from '#domain';
import type { DeliveryAttemptEntity } from '#database';
import type { MessageDetail, MessageRow } from '#messaging';
import { PageQueryDto } from '../http/pagination.dto.js';
import { OptionalNotNull } from './common.dto.js';

const UUID_EXAMPLE = '01936f8e-b2c3-7d4e-9f50-6a7b8c9d0e1f';
const MESSAGE_ORDERS = ['asc', 'desc'] as const;

export class MessageQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: MESSAGE_ORDERS, default: 'desc', description: 'desc: newest first', example: 'desc' })
  @IsOptional()
  @IsIn(MESSAGE_ORDERS)
  order?: (typeof MESSAGE_ORDERS)[number];
}

export class ViaDto {
  @ApiProperty({ format: 'uuid', description: 'One of the contact\'s identities', example: UUID_EXAMPLE })
  @IsUUID()
  identityId: string;
}

export class TemplateDto {
  @ApiProperty({ description: 'The approved template\'s name', example: 'booking_reminder' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  name: string;

  @ApiProperty({ description: 'The template\'s language', example: 'en_US' })
  @IsString()
  @MinLength(1)
  @MaxLength(35)
  language: string;

  @ApiProperty({ type: [String], description: 'Values of the template\'s placeholders, in order', example: ['Ada', 'Friday'] })
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  parameters: string[];
}

export class CreateMessageDto {
  @ApiProperty({ enum: MESSAGE_TYPES, description: 'note: internal, never sent', example: 'text' })
  @IsIn(MESSAGE_TYPES)
  type: MessageType;

  @ApiPropertyOptional({
    maxLength: 4096,
    description: "Required for text and note. A template message's body is the template's text with its parameters filled in (anything given here is replaced)",
    example: 'Your booking is confirmed for Friday.',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(4096)
  body?: string;

  @ApiPropertyOptional({ type: ViaDto, description: 'Send over this identity (default: the one the customer last wrote on)' })
  @OptionalNotNull()
  @ValidateNested()
  @Type(() => ViaDto)
  via?: ViaDto;

  @ApiPropertyOptional({
    type: [String],
    description:
      "Identities of the contact to fall back to, in order. The send is accepted when the first identity, or one of these, can take it now; " +
      'the message is stored on the first identity with this list, and delivery moves to the next one that can when the current one cannot ' +
      '(window closed, quota used, permanent failure, a failed receipt, or no delivery receipt within the deadline on WhatsApp and SMS). ' +
      "On another inbox than the first identity's, a template travels as its filled-in text. Left out: the workspace's default policy " +
      '(GET /v1/workspace/settings) builds the list; `[]`: no fallback',
    example: [UUID_EXAMPLE],
  })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(10)
  @IsUUID('all', { each: true })
  fallback?: string[];

  @ApiPropertyOptional({
    type: TemplateDto,
    description: "Required for type template: an approved template of the identity's inbox (GET /v1/inboxes/{id}/templates), with exactly its number of parameters",
  })
  @OptionalNotNull()
  @ValidateNested()
  @Type(() => TemplateDto)
  template?: TemplateDto;
}

export class MessageDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id: string;
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) conversationId: string;
  @ApiProperty({ enum: MESSAGE_DIRECTIONS, example: 'out' }) direction: MessageDirection;
  @ApiProperty({ enum: MESSAGE_TYPES, example: 'text' }) type: MessageType;
  @ApiProperty({ example: 'Your booking is confirmed for Friday.' }) body: string;
  @ApiProperty({ type: TemplateDto, nullable: true }) template: TemplateDto | null;
  @ApiProperty({ enum: MESSAGE_STATUSES, example: 'queued' }) status: MessageStatus;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE }) identityId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE }) inboxId: string | null;
  @ApiProperty({ enum: CHANNELS, nullable: true, example: 'wechat' }) channel: Channel | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE }) senderMemberId: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The provider\'s (or integrator\'s) id', example: null })
  externalId: string | null;
  @ApiProperty({ type: [String], description: 'Identities to fall back to, in order', example: [] }) fallback: string[];
  @ApiProperty({ type: String, nullable: true, example: null }) errorCode: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) errorReason: string | null;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) updatedAt: string;

  static from(row: MessageRow): MessageDto {
    return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
  }
}

export class DeliveryAttemptDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) id: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE }) identityId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: UUID_EXAMPLE }) inboxId: string | null;
  @ApiProperty({ enum: CHANNELS, example: 'whatsapp' }) channel: Channel;
  @ApiProperty({ example: 'sent' }) status: string;
  @ApiProperty({ type: String, nullable: true, description: "The provider's id of the message sent by this attempt", example: 'wamid.HBgLMTIzNDU2Nzg5MA' })
  providerMessageId: string | null;
  @ApiProperty({ type: String, nullable: true, description: "The provider's id of the API request", example: 'fbtrace-AbC123xYz' })
  providerRequestId: string | null;
  @ApiProperty({ type: String, nullable: true, example: '200' }) responseCode: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) errorCode: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) error: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 182 }) latencyMs: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'The last delivery receipt recorded for this attempt', example: 'delivered' })
  receiptStatus: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2025-11-28T09:30:03.000Z' }) receiptAt: string | null;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:01.000Z' }) createdAt: string;

  @ApiProperty({
    type: String,
    nullable: true,
    enum: FALLBACK_REASONS,
    description: 'Why the message left this attempt\'s identity for the next one of its route (null: it did not)',
    example: 'provider_failed',
  })
  fallbackReason: FallbackReason | null;

  static from(attempt: DeliveryAttemptEntity): DeliveryAttemptDto {
    return {
      id: attempt.id,
      identityId: attempt.identityId,
      inboxId: attempt.inboxId,
      channel: attempt.channel,
      status: attempt.status,
      providerMessageId: attempt.providerMessageId ?? null,
      providerRequestId: attempt.providerRequestId,
      responseCode: attempt.responseCode,
      errorCode: attempt.errorCode,
      error: attempt.error,
      latencyMs: attempt.latencyMs,
      receiptStatus: attempt.receiptStatus ?? null,
      receiptAt: attempt.receiptAt?.toISOString() ?? null,
      fallbackReason: (attempt.fallbackReason as FallbackReason | null | undefined) ?? null,
      createdAt: attempt.createdAt.toISOString(),
    };
  }
}

export class MessageDetailDto extends MessageDto {
  @ApiProperty({ type: [DeliveryAttemptDto], description: 'Every try to deliver it, every fallback hop' })
  attempts: DeliveryAttemptDto[];

  static fromDetail(detail: MessageDetail): MessageDetailDto {
    return { ...MessageDto.from(detail.message), attempts: detail.attempts.map((attempt) => DeliveryAttemptDto.from(attempt)) };
  }
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageDto] }) data: MessageDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

