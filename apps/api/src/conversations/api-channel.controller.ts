import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Principal } from '#identity';
import { InboundService } from '#messaging';
import { ApiProblemResponse, ApiIdempotencyKey, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { InboundDto, InboundResultDto } from './api-channel.dto.js';

@ApiTags('messages')
@ApiBearerAuth('bearer')
@RequirePermission('conversations.work')
@Controller('v1/inboxes')
export class ApiChannelController {
  constructor(private readonly inbound: InboundService) {}

  @Post(':id/inbound')
  @ApiOperation({ summary: 'Push a customer\'s message into an `api` inbox (the API channel)' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: InboundResultDto, description: 'Stored: the contact, identity and conversation are found or created' })
  @ApiOkResponse({ type: InboundResultDto, description: 'A redelivery (same message.externalId): nothing was written' })
  @ApiProblemResponse(409, 'inbox.not_api_channel: the inbox is not an api inbox')
  async receive(
    @Caller() caller: Principal,
    @Param('id', entityId('inbox')) inboxId: string,
    @Body() body: InboundDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InboundResultDto> {
    const result = await this.inbound.receiveFromApi(caller.workspaceId, { inboxId, ...body });
    void reply.status(result.created ? 201 : 200);
    return InboundResultDto.from(result);
  }
}
