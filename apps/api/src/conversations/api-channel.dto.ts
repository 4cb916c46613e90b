import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsEmail, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { type InboundResult, isE164 } from '#messaging';
import { Satisfies } from './common.dto.js';
import { ConversationDto } from './conversations.dto.js';
import { MessageDto } from './messages.dto.js';

export class InboundContactDto {
  @ApiProperty({ description: 'Your id for this customer, stable across messages', example: 'customer-8841' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  externalId: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 200, example: 'Ada Lovelace' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Links the customer to a contact with this email', example: 'ada@example.com' })
  @IsOptional()
  @IsEmail()
  @MaxLength(254)
  email?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'E.164; links the customer to a contact with this phone', example: '+14155550123' })
  @IsOptional()
  @Satisfies('isE164', (v) => typeof v === 'string' && isE164(v), 'phone must be in E.164 format, e.g. +14155550123')
  phone?: string | null;
}

export class InboundMessageDto {
  @ApiProperty({ description: 'Your id for this message: a redelivery with the same id is ignored', example: 'msg-20251128-0001' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  externalId: string;

  @ApiProperty({ maxLength: 65536, example: 'Hi, can I move my tour to Friday?' })
  @IsString()
  @MaxLength(65536)
  body: string;
}

export class InboundDto {
  @ApiProperty({ type: InboundContactDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => InboundContactDto)
  contact: InboundContactDto;

  @ApiProperty({ type: InboundMessageDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => InboundMessageDto)
  message: InboundMessageDto;
}

export class InboundResultDto {
  @ApiProperty({ type: MessageDto, description: 'The stored message (the existing one on a redelivery)' })
  message: MessageDto;

  @ApiProperty({ type: ConversationDto, nullable: true, description: 'The conversation the message joined (null only if its contact was deleted since)' })
  conversation: ConversationDto | null;

  static from(result: InboundResult): InboundResultDto {
    return {
      message: MessageDto.from(result.message),
      conversation: result.conversation ? ConversationDto.from(result.conversation) : null,
    };
  }
}
