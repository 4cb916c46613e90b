import { Body, Controller, HttpCode, Ip, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InvitationsService, type Principal } from '#identity';
import { ApiIdempotencyKey } from '../http/api-docs.decorators.js';
import { Caller, Public, RequirePermission } from '../auth/auth.decorators.js';
import { Entitled } from '../billing/entitlement.guard.js';
import { SessionDto } from './auth.dto.js';
import { AcceptInvitationDto, CreateInvitationDto, InvitationDto } from './invitations.dto.js';

@ApiTags('invitations')
@Controller('v1/invitations')
export class InvitationsController {
  constructor(private readonly invitations: InvitationsService) {}

  @Post()
  @ApiBearerAuth('bearer')
  @RequirePermission('members.manage')
  @Entitled('member.invite')
  @ApiOperation({ summary: 'Invite someone by email (409 `invitation.already_member` for a member)' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: InvitationDto })
  create(@Caller() caller: Principal, @Body() body: CreateInvitationDto): Promise<InvitationDto> {
    return this.invitations.create(caller, body);
  }

  @Public()
  @Post(':token/accept')
  @Entitled('member.accept')
  @HttpCode(200)
  @ApiParam({ name: 'token', description: 'The invitation token (fri_...)', example: 'fri_AZXzonweLUCaay9MjB07WlZk3r8Qm1yV0cX7bN2pL5tW9sH4jD6fA1eR8uI3oK0gM' })
  @ApiOperation({ summary: 'Accept an invitation: join the workspace (creating the account if needed) and sign in' })
  @ApiOkResponse({ type: SessionDto })
  accept(@Param('token') token: string, @Body() body: AcceptInvitationDto, @Ip() ip: string): Promise<SessionDto> {
    return this.invitations.accept(token, body, ip);
  }
}
