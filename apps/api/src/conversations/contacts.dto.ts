import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { IsEmail, IsObject, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { type Channel, CHANNELS } from '#domain';
import type { ContactEntity, ContactIdentityEntity } from '#database';
import { customAttributesProblem, isCountryCode, isE164, isLanguageTag, isTimeZone } from '#messaging';
import { PageQueryDto } from '../http/pagination.dto.js';
import { iso, OptionalNotNull, Satisfies } from './common.dto.js';

const isString = (value: unknown): value is string => typeof value === 'string';

export class ContactQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Search name, email and phone (any part, any script)', example: '王小明' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}

const CUSTOM_ATTRIBUTES_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  description: 'A flat object of at most 50 keys; values are strings, numbers, booleans or null',
  additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], nullable: true },
  example: { plan: 'gold', bookings: 3, vip: true },
};

/** The fields of a contact; null clears a field. */
export class ContactFieldsDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 200, example: '王小明' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, format: 'email', example: 'xiaoming@example.com' })
  @IsOptional()
  @IsEmail()
  @MaxLength(254)
  email?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'E.164', example: '+8613800138000' })
  @IsOptional()
  @Satisfies('isE164', (v) => isString(v) && isE164(v), 'phone must be in E.164 format, e.g. +14155550123')
  phone?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'BCP 47 language tag', example: 'zh-CN' })
  @IsOptional()
  @Satisfies('isLanguageTag', (v) => isString(v) && isLanguageTag(v), 'language must be a BCP 47 tag, e.g. en or zh-Hans')
  language?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'IANA time zone', example: 'Asia/Shanghai' })
  @IsOptional()
  @Satisfies('isTimeZone', (v) => isString(v) && isTimeZone(v), 'timezone must be an IANA time zone, e.g. Asia/Shanghai')
  timezone?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'ISO 3166-1 alpha-2', example: 'CN' })
  @IsOptional()
  @Satisfies('isCountryCode', (v) => isString(v) && isCountryCode(v), 'country must be an ISO 3166-1 alpha-2 code, e.g. US')
  country?: string | null;

  @ApiPropertyOptional(CUSTOM_ATTRIBUTES_SCHEMA)
  @OptionalNotNull()
  @IsObject()
  @Satisfies('isCustomAttributes', (v) => customAttributesProblem(v) === null, (v) => `customAttributes ${customAttributesProblem(v)}`)
  customAttributes?: Record<string, unknown>;
}

export class CreateContactDto extends ContactFieldsDto {}

export class UpdateContactDto extends ContactFieldsDto {}

export class CreateIdentityDto {
  @ApiProperty({ format: 'uuid', description: 'The inbox this address belongs to', example: '01936f8e-8f4c-7a53-9a8e-2b1f3c4d5e6f' })
  @IsUUID()
  inboxId: string;

  @ApiProperty({ description: 'The address on that inbox: OpenID, wa_id, phone, email...', example: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  externalId: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 200, example: 'Xiaoming' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  displayName?: string | null;
}

export class IdentityDto {
  @ApiProperty({ format: 'uuid', example: '01936f8e-9a00-7c11-8e2f-3a4b5c6d7e8f' }) id: string;
  @ApiProperty({ format: 'uuid', example: '01936f8e-8f4c-7a53-9a8e-2b1f3c4d5e6f' }) inboxId: string;
  @ApiProperty({ enum: CHANNELS, example: 'wechat', description: 'The inbox channel' }) channel: Channel;
  @ApiProperty({ example: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' }) externalId: string;
  @ApiProperty({ type: String, nullable: true, example: 'Xiaoming' }) displayName: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the customer last wrote from it' })
  lastInboundAt: string | null;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) createdAt: string;

  static from(identity: ContactIdentityEntity): IdentityDto {
    return {
      id: identity.id,
      inboxId: identity.inboxId,
      channel: identity.channel,
      externalId: identity.externalId,
      displayName: identity.displayName,
      lastInboundAt: iso(identity.lastInboundAt),
      createdAt: identity.createdAt.toISOString(),
    };
  }
}

export class ContactDto {
  @ApiProperty({ format: 'uuid', example: '01936f8e-7b2a-7d44-b1c2-d3e4f5a6b7c8' }) id: string;
  @ApiProperty({ type: String, nullable: true, example: '王小明' }) name: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'xiaoming@example.com' }) email: string | null;
  @ApiProperty({ type: String, nullable: true, example: '+8613800138000' }) phone: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'zh-CN' }) language: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Asia/Shanghai' }) timezone: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'CN' }) country: string | null;
  @ApiProperty(CUSTOM_ATTRIBUTES_SCHEMA) customAttributes: Record<string, unknown>;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', example: '2025-11-28T09:30:00.000Z' }) updatedAt: string;
  @ApiPropertyOptional({ type: [IdentityDto], description: 'The contact\'s identities (on a single contact, not in lists)' })
  identities?: IdentityDto[];

  static from(contact: ContactEntity, identities?: ContactIdentityEntity[]): ContactDto {
    const dto: ContactDto = {
      id: contact.id,
      name: contact.name,
      email: contact.email,
      phone: contact.phone,
      language: contact.language,
      timezone: contact.timezone,
      country: contact.country,
      customAttributes: contact.customAttributes,
      createdAt: contact.createdAt.toISOString(),
      updatedAt: contact.updatedAt.toISOString(),
    };
    if (identities) dto.identities = identities.map((identity) => IdentityDto.from(identity));
    return dto;
  }
}

export class ContactPageDto {
  @ApiProperty({ type: [ContactDto] }) data: ContactDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}
