import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'CRM sync', maxLength: 100 })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100)
  name: string;
}

export class ApiKeyDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'CRM sync' })
  name: string;

  @ApiProperty({ example: 'fry_AZXzonweLUCaay9MjB07WlZk3r', description: 'The key\'s first characters, to tell keys apart' })
  prefix: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-01-16T12:00:00.000Z' })
  lastUsedAt: string | null;
}

export class ApiKeysPageDto {
  @ApiProperty({ type: [ApiKeyDto] })
  data: ApiKeyDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class CreatedApiKeyDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'CRM sync' })
  name: string;

  @ApiProperty({ example: 'fry_AZXzonweLUCaay9MjB07WlZk3r' })
  prefix: string;

  @ApiProperty({
    example: 'fry_AZXzonweLUCaay9MjB07WlZk3r8Qm1yV0cX7bN2pL5tW9sH4jD6fA1eR8uI3oK0gM',
    description: 'Shown once: store it now; Ferry keeps only its hash',
  })
  key: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;
}
