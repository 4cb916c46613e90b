import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { Page } from '#domain';
import type { LabelView } from '#messaging';

const PRESENT = (value: unknown): boolean => value !== undefined;
/** Lowercase letters (any script), digits, '-' and '_': what conversations carry and filters match. */
const LABEL_NAME = /^[\p{Ll}\p{Lo}\p{Nd}][\p{Ll}\p{Lo}\p{Nd}_-]*$/u;
const LABEL_NAME_MESSAGE = 'name must be lowercase letters, digits, "-" and "_", starting with a letter or digit (e.g. vip, billing-issue)';
const COLOR = /^#[0-9a-fA-F]{6}$/;
const NAME_DOC = { example: 'vip', maxLength: 50, description: 'Lowercase letters, digits, "-" and "_"; unique in the workspace' };

export class CreateLabelDto {
  @ApiProperty(NAME_DOC)
  @IsString()
  @MaxLength(50)
  @Matches(LABEL_NAME, { message: LABEL_NAME_MESSAGE })
  name: string;

  @ApiPropertyOptional({ example: '#e11d48', default: '#6b7280', description: 'A #rrggbb color' })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @Matches(COLOR, { message: 'color must be a #rrggbb color' })
  color?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'Repeat customers and partners', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;
}

export class UpdateLabelDto {
  @ApiPropertyOptional({ ...NAME_DOC, description: 'Renaming renames the label on every conversation that carries it' })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @MaxLength(50)
  @Matches(LABEL_NAME, { message: LABEL_NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ example: '#e11d48', description: 'A #rrggbb color' })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @Matches(COLOR, { message: 'color must be a #rrggbb color' })
  color?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'Repeat customers', maxLength: 500, description: 'null clears it' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;
}

export class LabelDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'vip' })
  name: string;

  @ApiProperty({ example: '#e11d48' })
  color: string;

  @ApiProperty({ type: String, nullable: true, example: 'Repeat customers and partners' })
  description: string | null;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  updatedAt: string;

  static from(view: LabelView): LabelDto {
    return {
      id: view.id,
      name: view.name,
      color: view.color,
      description: view.description,
      createdAt: view.createdAt.toISOString(),
      updatedAt: view.updatedAt.toISOString(),
    };
  }
}

export class LabelsPageDto {
  @ApiProperty({ type: [LabelDto] })
  data: LabelDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;

  static from(page: Page<LabelView>): LabelsPageDto {
    return { data: page.data.map((view) => LabelDto.from(view)), nextCursor: page.nextCursor };
  }
}
