import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#identity';
import { TemplatesService, TemplateSyncService } from '#messaging';
import { ApiIdempotencyKey, ApiProblemResponse, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE } from '../http/pagination.dto.js';
import { CreateTemplateDto, TemplateDto, TemplatesPageDto, TemplatesQueryDto, TemplateSyncDto, UpdateTemplateDto } from './templates.dto.js';

const NAME_TAKEN = 'The inbox has a template with this name in this language (`template.name_taken`)';
const BAD_BODY = 'Invalid request (`request.invalid`), e.g. placeholders not numbered {{1}} to {{n}} without gaps';

@ApiTags('templates')
@ApiBearerAuth('bearer')
@Controller('v1/inboxes/:inboxId/templates')
export class TemplatesController {
  constructor(
    private readonly templates: TemplatesService,
    private readonly sync: TemplateSyncService,
  ) {}

  @Get()
  @ApiOperation({ summary: "List the inbox's message templates by name (?status=approved: the sendable ones)" })
  @ApiOkResponse({ type: TemplatesPageDto })
  async list(
    @Caller() caller: Principal,
    @Param('inboxId', entityId('inbox')) inboxId: string,
    @Query() query: TemplatesQueryDto,
  ): Promise<TemplatesPageDto> {
    return TemplatesPageDto.from(
      await this.templates.list(caller.workspaceId, inboxId, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor, status: query.status }),
    );
  }

  @Post()
  @RequirePermission('inboxes.manage')
  @ApiOperation({ summary: 'Add a template by hand (channels without a provider template list, or before a sync)' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: TemplateDto })
  @ApiProblemResponse(400, BAD_BODY)
  @ApiProblemResponse(409, NAME_TAKEN)
  async create(
    @Caller() caller: Principal,
    @Param('inboxId', entityId('inbox')) inboxId: string,
    @Body() body: CreateTemplateDto,
  ): Promise<TemplateDto> {
    return TemplateDto.from(await this.templates.create(caller.workspaceId, inboxId, body));
  }

  @Post('sync')
  @HttpCode(200)
  @RequirePermission('inboxes.manage')
  @ApiOperation({
    summary: "Replace the inbox's provider templates with the provider's list",
    description: 'WhatsApp: GET /{businessAccountId}/message_templates with the inbox token (config.businessAccountId is required). Manual templates stay.',
  })
  @ApiOkResponse({ type: TemplateSyncDto })
  @ApiProblemResponse(409, "templates.not_syncable: the channel has no provider template list, or the WhatsApp inbox has no businessAccountId")
  @ApiProblemResponse(422, 'templates.sync_failed: the provider refused the request (token or account id); its message is in `detail`')
  @ApiProblemResponse(503, 'templates.provider_unavailable: the provider did not answer, or answered 429/5xx; try again later')
  async syncTemplates(@Caller() caller: Principal, @Param('inboxId', entityId('inbox')) inboxId: string): Promise<TemplateSyncDto> {
    return TemplateSyncDto.from(await this.sync.sync(caller.workspaceId, inboxId));
  }

  @Patch(':templateId')
  @RequirePermission('inboxes.manage')
  @ApiOperation({ summary: 'Change a manual template' })
  @ApiOkResponse({ type: TemplateDto })
  @ApiProblemResponse(400, BAD_BODY)
  @ApiProblemResponse(409, `${NAME_TAKEN}, or template.provider_managed: a synced template is changed at the provider`)
  async update(
    @Caller() caller: Principal,
    @Param('inboxId', entityId('inbox')) inboxId: string,
    @Param('templateId', entityId('template')) templateId: string,
    @Body() body: UpdateTemplateDto,
  ): Promise<TemplateDto> {
    return TemplateDto.from(await this.templates.update(caller.workspaceId, inboxId, templateId, body));
  }

  @Delete(':templateId')
  @HttpCode(204)
  @RequirePermission('inboxes.manage')
  @ApiOperation({ summary: 'Delete a template (a synced one comes back with the next sync while the provider lists it)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(
    @Caller() caller: Principal,
    @Param('inboxId', entityId('inbox')) inboxId: string,
    @Param('templateId', entityId('template')) templateId: string,
  ): Promise<void> {
    await this.templates.remove(caller.workspaceId, inboxId, templateId);
  }
}
