import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, IsUUID, Matches, MaxLength, ValidateIf } from 'class-validator';
import type { Page } from '#domain';
import type { TeamView } from '#messaging';

const PRESENT = (value: unknown): boolean => value !== undefined;
const MEMBER_IDS_EXAMPLE = ['0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d'];

export class CreateTeamDto {
  @ApiProperty({ example: 'China desk', maxLength: 100, description: 'Unique in the workspace, ignoring case' })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100)
  name: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'WeChat and Mandarin-speaking customers', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: 500, example: MEMBER_IDS_EXAMPLE, description: 'Members of this workspace' })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  memberIds?: string[];
}

export class UpdateTeamDto {
  @ApiPropertyOptional({ example: 'Greater China desk', maxLength: 100 })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'WeChat customers', maxLength: 500, description: 'null clears it' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: 500, example: MEMBER_IDS_EXAMPLE, description: 'Replaces the whole membership' })
  @ValidateIf((_dto: object, value: unknown) => PRESENT(value))
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  memberIds?: string[];
}

export class TeamDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'China desk' })
  name: string;

  @ApiProperty({ type: String, nullable: true, example: 'WeChat and Mandarin-speaking customers' })
  description: string | null;

  @ApiProperty({ type: [String], format: 'uuid', example: MEMBER_IDS_EXAMPLE })
  memberIds: string[];

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  updatedAt: string;

  static from(view: TeamView): TeamDto {
    return { ...view, createdAt: view.createdAt.toISOString(), updatedAt: view.updatedAt.toISOString() };
  }
}

export class TeamsPageDto {
  @ApiProperty({ type: [TeamDto] })
  data: TeamDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;

  static from(page: Page<TeamView>): TeamsPageDto {
    return { data: page.data.map((view) => TeamDto.from(view)), nextCursor: page.nextCursor };
  }
}
