import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ROLES, type Role } from '#domain';

const LANGUAGE_TAG = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

export class MemberDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5c', format: 'uuid' })
  id: string;

  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5b', format: 'uuid' })
  userId: string;

  @ApiProperty({ example: 'Lan Nguyen' })
  name: string;

  @ApiProperty({ example: 'lan@mekong.example', format: 'email' })
  email: string;

  @ApiProperty({ enum: ROLES, example: 'agent' })
  role: Role;

  @ApiProperty({ type: [String], example: ['en', 'zh-Hans', 'th'], description: 'BCP 47 tags of the languages the member answers in' })
  languages: string[];

  @ApiProperty({ example: 10, description: 'How many open conversations the member takes at once' })
  capacity: number;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;
}

export class MembersPageDto {
  @ApiProperty({ type: [MemberDto] })
  data: MemberDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class UpdateMemberDto {
  @ApiPropertyOptional({ enum: ROLES, example: 'admin', description: 'Admins cannot make or change owners; nobody changes their own role' })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ type: [String], example: ['en', 'th'], maxItems: 20 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @Matches(LANGUAGE_TAG, { each: true, message: 'each language must be a BCP 47 tag such as en or zh-Hans' })
  languages?: string[];

  @ApiPropertyOptional({ example: 8, minimum: 0, maximum: 1000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  capacity?: number;
}
