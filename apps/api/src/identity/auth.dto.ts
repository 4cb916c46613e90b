import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsNotEmpty, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { MIN_PASSWORD_LENGTH } from '#identity';
import { ROLES, type Role } from '#domain';

const MAX_PASSWORD_LENGTH = 256;
const NOT_BLANK = /\S/;

export class SignupDto {
  @ApiProperty({ example: 'Mekong Tours', maxLength: 100 })
  @IsString()
  @Matches(NOT_BLANK, { message: 'workspaceName must not be blank' })
  @MaxLength(100)
  workspaceName: string;

  @ApiProperty({ example: 'Lan Nguyen', maxLength: 100 })
  @IsString()
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(100)
  name: string;

  @ApiProperty({ example: 'lan@mekong.example', format: 'email', description: 'Compared without regard to case' })
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH, format: 'password' })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(MAX_PASSWORD_LENGTH)
  password: string;
}

export class LoginDto {
  @ApiProperty({ example: 'lan@mekong.example', format: 'email' })
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'correct horse battery', format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_PASSWORD_LENGTH)
  password: string;

  @ApiPropertyOptional({
    example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5a',
    format: 'uuid',
    description: 'The workspace to log in to; by default the oldest of the user\'s workspaces',
  })
  @IsOptional()
  @IsUUID()
  workspaceId?: string;
}

export class RefreshDto {
  @ApiProperty({ example: 'frr_Zk3r8Qm1yV0cX7bN2pL5tW9sH4jD6fA1eR8uI3oK0gM', description: 'The refresh token of the last answer; each is used once' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  refreshToken: string;
}

export class SwitchWorkspaceDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5a', format: 'uuid' })
  @IsUUID()
  workspaceId: string;
}

export class UserDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5b', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Lan Nguyen' })
  name: string;

  @ApiProperty({ example: 'lan@mekong.example', format: 'email' })
  email: string;
}

export class WorkspaceDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5a', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Mekong Tours' })
  name: string;
}

export class MemberRefDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5c', format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ROLES, example: 'owner' })
  role: Role;
}

export class SessionDto {
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl', description: 'Bearer token for this workspace' })
  accessToken: string;

  @ApiProperty({ example: 'frr_Zk3r8Qm1yV0cX7bN2pL5tW9sH4jD6fA1eR8uI3oK0gM', description: 'Exchange at /v1/auth/refresh; used once' })
  refreshToken: string;

  @ApiProperty({ example: 900, description: 'Seconds until the access token expires' })
  expiresIn: number;

  @ApiProperty({ type: UserDto })
  user: UserDto;

  @ApiProperty({ type: WorkspaceDto })
  workspace: WorkspaceDto;

  @ApiProperty({ type: MemberRefDto })
  member: MemberRefDto;
}

export class MembershipDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5a', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Mekong Tours' })
  name: string;

  @ApiProperty({ enum: ROLES, example: 'agent' })
  role: Role;
}

export class ApiKeyRefDto {
  @ApiProperty({ example: '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d', format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'CRM sync' })
  name: string;
}

/** A user token answers user, member and workspaces; an API key answers apiKey. Both answer workspace. */
export class MeDto {
  @ApiPropertyOptional({ type: UserDto, description: 'User tokens only' })
  user?: UserDto;

  @ApiProperty({ type: WorkspaceDto })
  workspace: WorkspaceDto;

  @ApiPropertyOptional({ type: MemberRefDto, description: 'User tokens only' })
  member?: MemberRefDto;

  @ApiPropertyOptional({ type: [MembershipDto], description: 'User tokens only: every workspace the user can switch to' })
  workspaces?: MembershipDto[];

  @ApiPropertyOptional({ type: ApiKeyRefDto, description: 'API keys only' })
  apiKey?: ApiKeyRefDto;
}
