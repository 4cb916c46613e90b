import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { Principal } from '#identity';
import { InboxesService } from '#messaging';
import { ApiProblemResponse, ApiIdempotencyKey } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { Entitled } from '../billing/entitlement.guard.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../http/pagination.dto.js';
import { CreateInboxDto, InboxDto, InboxesPageDto, UpdateInboxDto } from './inboxes.dto.js';

const INVALID_CONFIG = 'Invalid request (`request.invalid`), or a config that is not valid for the channel (`inbox.invalid_config`, each bad field in `errors`, e.g. `config.phoneNumberId`)';

const IdParam = (): MethodDecorator => ApiParam({ name: 'id', required: true, schema: { type: 'string', format: 'uuid' }, description: 'Inbox id' });

@ApiTags('inboxes')
@ApiBearerAuth('bearer')
@Controller('v1/inboxes')
export class InboxesController {
  constructor(private readonly inboxes: InboxesService) {}

  @Get()
  @ApiOperation({ summary: 'List the connected inboxes (secrets masked)' })
  @ApiOkResponse({ type: InboxesPageDto })
  async list(@Caller() caller: Principal, @Query() query: PageQueryDto): Promise<InboxesPageDto> {
    return InboxesPageDto.from(await this.inboxes.list(caller.workspaceId, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor }));
  }

  @Post()
  @RequirePermission('inboxes.manage')
  @Entitled('inbox.create')
  @ApiOperation({ summary: 'Connect a channel account as an inbox', description: 'Secrets in `config` are stored encrypted and never answered.' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: InboxDto })
  @ApiProblemResponse(400, INVALID_CONFIG)
  async create(@Caller() caller: Principal, @Body() body: CreateInboxDto): Promise<InboxDto> {
    return InboxDto.from(await this.inboxes.create(caller.workspaceId, body));
  }

  @Get(':id')
  @IdParam()
  @ApiOperation({ summary: 'Get an inbox (secrets masked)' })
  @ApiOkResponse({ type: InboxDto })
  async get(@Caller() caller: Principal, @Param('id') id: string): Promise<InboxDto> {
    return InboxDto.from(await this.inboxes.get(caller.workspaceId, id));
  }

  @Patch(':id')
  @IdParam()
  @RequirePermission('inboxes.manage')
  @ApiOperation({ summary: 'Rename an inbox or change its config (a merge patch; secrets left out stay)' })
  @ApiOkResponse({ type: InboxDto })
  @ApiProblemResponse(400, INVALID_CONFIG)
  async update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: UpdateInboxDto): Promise<InboxDto> {
    return InboxDto.from(await this.inboxes.update(caller.workspaceId, id, body));
  }

  @Delete(':id')
  @IdParam()
  @HttpCode(204)
  @RequirePermission('inboxes.manage')
  @ApiOperation({ summary: 'Delete an inbox', description: 'Its conversations and messages stay and keep referring to it.' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.inboxes.remove(caller.workspaceId, id);
  }
}
