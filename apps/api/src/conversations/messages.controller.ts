import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#identity';
import { MessagesService } from '#messaging';
import { DEFAULT_PAGE_SIZE } from '../http/pagination.dto.js';
import { ApiProblemResponse, ApiIdempotencyKey, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { Entitled } from '../billing/entitlement.guard.js';
import { CreateMessageDto, MessageDetailDto, MessageDto, MessagePageDto, MessageQueryDto } from './messages.dto.js';

@ApiTags('messages')
@ApiBearerAuth('bearer')
@RequirePermission('conversations.work')
@Controller('v1')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get('conversations/:id/messages')
  @ApiOperation({ summary: 'List a conversation\'s messages (?order=desc, newest first, by default)' })
  @ApiOkResponse({ type: MessagePageDto })
  async list(
    @Caller() caller: Principal,
    @Param('id', entityId('conversation')) id: string,
    @Query() query: MessageQueryDto,
  ): Promise<MessagePageDto> {
    const page = await this.messages.list(caller.workspaceId, id, { order: query.order, cursor: query.cursor, limit: query.limit ?? DEFAULT_PAGE_SIZE });
    return { data: page.data.map((row) => MessageDto.from(row)), nextCursor: page.nextCursor };
  }

  @Post('conversations/:id/messages')
  @Entitled('message.send')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a reply (queued for delivery) or write an internal note' })
  @ApiIdempotencyKey()
  @ApiAcceptedResponse({ type: MessageDto, description: 'Accepted: a reply is queued; a note is stored' })
  @ApiProblemResponse(
    400,
    'request.invalid; message.invalid_identity (via or fallback is not an identity of the contact); template.not_found (no approved template of that ' +
      "name and language in the identity's inbox); template.invalid_parameters (not exactly the template's number of parameters)",
  )
  @ApiProblemResponse(
    422,
    'The customer cannot be reached now on the identity, nor on any fallback one (nothing is written; `detail` says until when and what to do): ' +
      'reachability.window_closed (e.g. WhatsApp 24 h since the customer last wrote: send a template, or pick another identity); ' +
      'reachability.quota_exhausted (WeChat: 5 messages per 48 h window used); reachability.unsubscribed; ' +
      'reachability.no_identity (the contact has no identity to send to)',
  )
  async post(
    @Caller() caller: Principal,
    @Param('id', entityId('conversation')) id: string,
    @Body() body: CreateMessageDto,
  ): Promise<MessageDto> {
    return MessageDto.from(await this.messages.post(caller.workspaceId, id, caller.memberId, body));
  }

  @Get('messages/:id')
  @ApiOperation({ summary: 'Get a message with its delivery attempts' })
  @ApiOkResponse({ type: MessageDetailDto })
  async get(@Caller() caller: Principal, @Param('id', entityId('message')) id: string): Promise<MessageDetailDto> {
    return MessageDetailDto.fromDetail(await this.messages.get(caller.workspaceId, id));
  }
}
