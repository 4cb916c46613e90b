import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#identity';
import { ConversationsService } from '#messaging';
import { DEFAULT_PAGE_SIZE } from '../http/pagination.dto.js';
import { ApiProblemResponse, ApiIdempotencyKey, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import {
  ConversationDto,
  ConversationPageDto,
  ConversationQueryDto,
  CreateConversationDto,
  UpdateConversationDto,
} from './conversations.dto.js';

@ApiTags('conversations')
@ApiBearerAuth('bearer')
@RequirePermission('conversations.work')
@Controller('v1/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Get()
  @ApiOperation({ summary: 'List conversations, most recent activity first, with filters and search' })
  @ApiOkResponse({ type: ConversationPageDto })
  async list(@Caller() caller: Principal, @Query() query: ConversationQueryDto): Promise<ConversationPageDto> {
    const { limit, cursor, ...filters } = query;
    const page = await this.conversations.list(caller.workspaceId, filters, { cursor, limit: limit ?? DEFAULT_PAGE_SIZE });
    return { data: page.data.map((row) => ConversationDto.from(row)), nextCursor: page.nextCursor };
  }

  @Post()
  @ApiOperation({ summary: 'Open a conversation with a contact (one open conversation per contact)' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: ConversationDto })
  @ApiProblemResponse(409, 'conversation.already_open: the contact has an open conversation (named in detail)')
  async create(@Caller() caller: Principal, @Body() body: CreateConversationDto): Promise<ConversationDto> {
    return ConversationDto.from(await this.conversations.open(caller.workspaceId, body.contactId));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a conversation' })
  @ApiOkResponse({ type: ConversationDto })
  async get(@Caller() caller: Principal, @Param('id', entityId('conversation')) id: string): Promise<ConversationDto> {
    return ConversationDto.from(await this.conversations.get(caller.workspaceId, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change status, assignee, team, priority, labels or snooze' })
  @ApiOkResponse({ type: ConversationDto })
  @ApiProblemResponse(409, 'conversation.already_open: reopening while the contact has another open conversation')
  async update(
    @Caller() caller: Principal,
    @Param('id', entityId('conversation')) id: string,
    @Body() body: UpdateConversationDto,
  ): Promise<ConversationDto> {
    return ConversationDto.from(await this.conversations.update(caller.workspaceId, id, body));
  }
}
