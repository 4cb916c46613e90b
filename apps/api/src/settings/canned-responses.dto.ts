import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { Page } from '#domain';
import type { CannedResponseView } from '#messaging';
import { PageQueryDto } from '../http/pagination.dto.js';

const PRESENT = (value: unknown): boolean => value !== undefined;
/** What an agent types after "/" in the composer: no spaces, no slashes. */
const SHORT_CODE = /^[^\s/]+$/u;
const SHORT_CODE_MESSAGE = 'shortCode must have no spaces or slashes';

export class CreateCannedResponseDto {
  @ApiProperty({ example: 'price-guilin', maxLength: 64, description: 'Unique in the workspace; no spaces or slashes' })
  @IsString()
  @MaxLength(64)
  @Matches(SHORT_CODE, { message: SHORT_CODE_MESSAGE })
  shortCode: string;

  @ApiProperty({ example: 'The 3-day Guilin tour is 2,400 CNY per person, hotel included.', maxLength: 10000 })
  @IsString()
  @Matches(/\S/, { message: 'content must not be blank' })
  @MaxLength(10000)
  content: string;
}

export class UpdateCannedResponseDto {
  @ApiPropertyOptional({ example: 'price-guilin-3d', maxLength: 64 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @MaxLength(64)
  @Matches(SHORT_CODE, { message: SHORT_CODE_MESSAGE })
  shortCode?: string;

  @ApiPropertyOptional({ example: 'The 3-day Guilin tour is 2,600 CNY per person, hotel included.', maxLength: 10000 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @Matches(/\S/, { message: 'content must not be blank' })
  @MaxLength(10000)
  content?: string;
}

export class CannedResponsesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'price', maxLength: 64, description: 'Only short codes starting with this (any case)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  q?: string;
}

export class CannedResponseDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'price-guilin' })
  shortCode: string;

  @ApiProperty({ example: 'The 3-day Guilin tour is 2,400 CNY per person, hotel included.' })
  content: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  updatedAt: string;

  static from(view: CannedResponseView): CannedResponseDto {
    return {
      id: view.id,
      shortCode: view.shortCode,
      content: view.content,
      createdAt: view.createdAt.toISOString(),
      updatedAt: view.updatedAt.toISOString(),
    };
  }
}

export class CannedResponsesPageDto {
  @ApiProperty({ type: [CannedResponseDto] })
  data: CannedResponseDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;

  static from(page: Page<CannedResponseView>): CannedResponsesPageDto {
    return { data: page.data.map((view) => CannedResponseDto.from(view)), nextCursor: page.nextCursor };
  }
}
