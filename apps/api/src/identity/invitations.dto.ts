import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { ROLES, type Role } from '#domain';
import { MIN_PASSWORD_LENGTH } from '#identity';

export class CreateInvitationDto {
  @ApiProperty({ example: 'somchai@mekong.example', format: 'email' })
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ enum: ROLES, example: 'agent', description: 'Admins cannot invite owners' })
  @IsIn(ROLES)
  role: Role;
}

export class InvitationDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5e', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'somchai@mekong.example', format: 'email' })
  email: string;

  @ApiProperty({ enum: ROLES, example: 'agent' })
  role: Role;

  @ApiProperty({ example: '2026-01-22T09:30:00.000Z', format: 'date-time' })
  expiresAt: string;

  @ApiProperty({
    example: 'fri_AZXzonweLUCaay9MjB07WlZk3r8Qm1yV0cX7bN2pL5tW9sH4jD6fA1eR8uI3oK0gM',
    description: 'Shown once: send it to the invitee, who accepts at /v1/invitations/{token}/accept',
  })
  token: string;
}

export class AcceptInvitationDto {
  @ApiPropertyOptional({ example: 'Somchai Chaiyaporn', maxLength: 100, description: 'Required when the email has no account yet' })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100)
  name?: string;

  @ApiProperty({
    example: 'correct horse battery',
    format: 'password',
    minLength: MIN_PASSWORD_LENGTH,
    description: 'The new account\'s password, or the existing account\'s',
  })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(256)
  password: string;
}
