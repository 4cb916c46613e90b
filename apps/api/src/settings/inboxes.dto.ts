import { ApiProperty, ApiPropertyOptional, type SchemaObject } from '@nestjs/swagger';
import { IsIn, IsObject, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { type Channel, CHANNELS, type Page } from '#domain';
import { channelConfigJsonSchemas, exampleChannelConfig, SECRET_MASK } from '#channels';
import type { InboxView } from '#messaging';

// The lib builds plain JSON Schemas from the channel table; they are OpenAPI 3 schema objects.
const CONFIG_SCHEMAS = channelConfigJsonSchemas() as SchemaObject[];
const CONFIG_DESCRIPTION =
  'The channel\'s settings; the shape depends on `channel` (one schema per channel below, see "Inbox configuration per channel"). ' +
  'Unknown keys are refused. Secrets are write-only.';
const PRESENT = (value: unknown): boolean => value !== undefined;

export class CreateInboxDto {
  @ApiProperty({ example: 'WhatsApp Bangkok', maxLength: 100 })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100)
  name: string;

  @ApiProperty({ enum: CHANNELS, example: 'whatsapp', description: 'The kind of account; it cannot change later' })
  @IsIn(CHANNELS)
  channel: Channel;

  @ApiProperty({ type: 'object', additionalProperties: true, description: CONFIG_DESCRIPTION, oneOf: CONFIG_SCHEMAS, example: exampleChannelConfig('whatsapp') })
  @IsObject()
  config: Record<string, unknown>;
}

export class UpdateInboxDto {
  @ApiPropertyOptional({ example: 'WhatsApp Bangkok (sales)', maxLength: 100 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'A JSON merge patch of the config: fields left out stay as they are (secrets too), `null` clears an optional field, ' +
      `a secret sent replaces the stored one (sending back "${SECRET_MASK}" keeps it). The result must be a valid config of the inbox's channel.`,
    example: { accessToken: 'EAAGm0PX4ZCpsBA-new-token' },
  })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsObject()
  config?: Record<string, unknown>;
}

export class InboxDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'WhatsApp Bangkok' })
  name: string;

  @ApiProperty({ enum: CHANNELS, example: 'whatsapp' })
  channel: Channel;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: `The channel's settings; every secret that is set is answered as "${SECRET_MASK}", never its value`,
    example: { phoneNumberId: '106540352242922', accessToken: SECRET_MASK, appSecret: SECRET_MASK, verifyToken: SECRET_MASK },
  })
  config: Record<string, unknown>;

  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uri',
    description:
      'The address to register at the provider (/hooks/<channel>/<id>); for `api` inboxes where the integrator pushes messages ' +
      '(/v1/inboxes/<id>/inbound); null for webchat',
    example: 'https://ferry.example.com/hooks/whatsapp/0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d',
  })
  webhookUrl: string | null;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  updatedAt: string;

  static from(view: InboxView): InboxDto {
    return { ...view, createdAt: view.createdAt.toISOString(), updatedAt: view.updatedAt.toISOString() };
  }
}

export class InboxesPageDto {
  @ApiProperty({ type: [InboxDto] })
  data: InboxDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;

  static from(page: Page<InboxView>): InboxesPageDto {
    return { data: page.data.map((view) => InboxDto.from(view)), nextCursor: page.nextCursor };
  }
}
