import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { Page } from '#domain';
import { TEMPLATE_CATEGORIES, TEMPLATE_SOURCES, TEMPLATE_STATUSES, type TemplateCategory, type TemplateSource, type TemplateStatus } from '#database';
import type { TemplateSyncResult, TemplateView } from '#messaging';
import { PageQueryDto } from '../http/pagination.dto.js';

const PRESENT = (value: unknown): boolean => value !== undefined;
/** WhatsApp's rule for template names, which manual templates share: lowercase letters, digits, underscores. */
const NAME = /^[a-z0-9_]+$/;
const NAME_MESSAGE = 'name must be lowercase letters, digits and underscores';
/** A language code as providers write it: en, en_US, pt_BR, zh_Hant... */
const LANGUAGE = /^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/;
const LANGUAGE_MESSAGE = 'language must be a language code such as en, en_US or pt_BR';
const BODY_EXAMPLE = 'Hello {{1}}, your tour on {{2}} is confirmed. Reply to this message if you have questions.';

export class TemplatesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: TEMPLATE_STATUSES, description: 'Only templates with this status', example: 'approved' })
  @IsOptional()
  @IsIn(TEMPLATE_STATUSES)
  status?: TemplateStatus;
}

export class CreateTemplateDto {
  @ApiProperty({ example: 'booking_confirmation', maxLength: 512, description: 'Lowercase letters, digits and underscores; unique per language in the inbox' })
  @IsString()
  @MaxLength(512)
  @Matches(NAME, { message: NAME_MESSAGE })
  name: string;

  @ApiProperty({ example: 'en_US', maxLength: 35 })
  @IsString()
  @MaxLength(35)
  @Matches(LANGUAGE, { message: LANGUAGE_MESSAGE })
  language: string;

  @ApiPropertyOptional({ enum: TEMPLATE_CATEGORIES, nullable: true, example: 'utility' })
  @ValidateIf((_dto: object, value: unknown) => value !== undefined && value !== null)
  @IsIn(TEMPLATE_CATEGORIES)
  category?: TemplateCategory | null;

  @ApiPropertyOptional({ enum: TEMPLATE_STATUSES, default: 'approved', description: 'Only an approved template can be sent', example: 'approved' })
  @IsOptional()
  @IsIn(TEMPLATE_STATUSES)
  status?: TemplateStatus;

  @ApiProperty({ example: BODY_EXAMPLE, maxLength: 1024, description: 'The text, with placeholders {{1}} to {{n}} that a send fills in order' })
  @IsString()
  @Matches(/\S/, { message: 'body must not be blank' })
  @MaxLength(1024)
  body: string;
}

export class UpdateTemplateDto {
  @ApiPropertyOptional({ example: 'booking_confirmation_v2', maxLength: 512 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @MaxLength(512)
  @Matches(NAME, { message: NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ example: 'en_GB', maxLength: 35 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @MaxLength(35)
  @Matches(LANGUAGE, { message: LANGUAGE_MESSAGE })
  language?: string;

  @ApiPropertyOptional({ enum: TEMPLATE_CATEGORIES, nullable: true, description: 'null clears it', example: 'marketing' })
  @ValidateIf((_dto: object, value: unknown) => value !== undefined && value !== null)
  @IsIn(TEMPLATE_CATEGORIES)
  category?: TemplateCategory | null;

  @ApiPropertyOptional({ enum: TEMPLATE_STATUSES, example: 'rejected' })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsIn(TEMPLATE_STATUSES)
  status?: TemplateStatus;

  @ApiPropertyOptional({ example: BODY_EXAMPLE, maxLength: 1024 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @Matches(/\S/, { message: 'body must not be blank' })
  @MaxLength(1024)
  body?: string;
}

export class TemplateDto {
  @ApiProperty({ format: 'uuid', example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d' }) id: string;
  @ApiProperty({ format: 'uuid', example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5e' }) inboxId: string;
  @ApiProperty({ example: 'booking_confirmation' }) name: string;
  @ApiProperty({ example: 'en_US' }) language: string;
  @ApiProperty({ enum: TEMPLATE_CATEGORIES, nullable: true, example: 'utility' }) category: TemplateCategory | null;
  @ApiProperty({ enum: TEMPLATE_STATUSES, description: 'Only approved templates can be sent', example: 'approved' }) status: TemplateStatus;
  @ApiProperty({ example: BODY_EXAMPLE }) body: string;
  @ApiProperty({ example: 2, description: 'How many parameters a send must give ({{1}} to {{n}})' }) parameterCount: number;

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: "The provider's components as it lists them (header, body, footer, buttons); [] for a manual template",
    example: [{ type: 'BODY', text: BODY_EXAMPLE }],
  })
  components: unknown[];

  @ApiProperty({ enum: TEMPLATE_SOURCES, description: "provider: synced from the provider's API (change it there); manual: kept here", example: 'provider' })
  source: TemplateSource;

  @ApiProperty({ type: String, nullable: true, description: "The provider's template id", example: '1192339204654487' }) providerTemplateId: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it was last synced from the provider', example: '2026-03-10T08:00:00.000Z' })
  syncedAt: string | null;
  @ApiProperty({ format: 'date-time', example: '2026-03-10T08:00:00.000Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', example: '2026-03-10T08:00:00.000Z' }) updatedAt: string;

  static from(view: TemplateView): TemplateDto {
    return {
      id: view.id,
      inboxId: view.inboxId,
      name: view.name,
      language: view.language,
      category: view.category,
      status: view.status,
      body: view.body,
      parameterCount: view.parameterCount,
      components: view.components,
      source: view.source,
      providerTemplateId: view.providerTemplateId,
      syncedAt: view.syncedAt?.toISOString() ?? null,
      createdAt: view.createdAt.toISOString(),
      updatedAt: view.updatedAt.toISOString(),
    };
  }
}

export class TemplatesPageDto {
  @ApiProperty({ type: [TemplateDto] })
  data: TemplateDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;

  static from(page: Page<TemplateView>): TemplatesPageDto {
    return { data: page.data.map((view) => TemplateDto.from(view)), nextCursor: page.nextCursor };
  }
}

export class TemplateSyncDto {
  @ApiProperty({ example: 12, description: 'Templates the provider listed, now stored' }) synced: number;
  @ApiProperty({ example: 1, description: 'Templates synced earlier that the provider no longer lists, now deleted' }) removed: number;
  @ApiProperty({ format: 'date-time', example: '2026-03-10T08:00:00.000Z' }) syncedAt: string;

  static from(result: TemplateSyncResult): TemplateSyncDto {
    return { synced: result.synced, removed: result.removed, syncedAt: result.syncedAt.toISOString() };
  }
}
