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
import { LabelsService } from '#messaging';
import { ApiProblemResponse, ApiIdempotencyKey } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../http/pagination.dto.js';
import { CreateLabelDto, LabelDto, LabelsPageDto, UpdateLabelDto } from './labels.dto.js';

const NAME_TAKEN = 'A label with this name exists (`label.name_taken`)';

const IdParam = (): MethodDecorator => ApiParam({ name: 'id', required: true, schema: { type: 'string', format: 'uuid' }, description: 'Label id' });

@ApiTags('labels')
@ApiBearerAuth('bearer')
@Controller('v1/labels')
export class LabelsController {
  constructor(private readonly labels: LabelsService) {}

  @Get()
  @ApiOperation({ summary: 'List labels, by name' })
  @ApiOkResponse({ type: LabelsPageDto })
  async list(@Caller() caller: Principal, @Query() query: PageQueryDto): Promise<LabelsPageDto> {
    return LabelsPageDto.from(await this.labels.list(caller.workspaceId, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor }));
  }

  @Post()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Create a label' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: LabelDto })
  @ApiProblemResponse(409, NAME_TAKEN)
  async create(@Caller() caller: Principal, @Body() body: CreateLabelDto): Promise<LabelDto> {
    return LabelDto.from(await this.labels.create(caller.workspaceId, body));
  }

  @Get(':id')
  @IdParam()
  @ApiOperation({ summary: 'Get a label' })
  @ApiOkResponse({ type: LabelDto })
  async get(@Caller() caller: Principal, @Param('id') id: string): Promise<LabelDto> {
    return LabelDto.from(await this.labels.get(caller.workspaceId, id));
  }

  @Patch(':id')
  @IdParam()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Change a label', description: 'A new name is applied to every conversation carrying the label, in the same transaction.' })
  @ApiOkResponse({ type: LabelDto })
  @ApiProblemResponse(409, NAME_TAKEN)
  async update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: UpdateLabelDto): Promise<LabelDto> {
    return LabelDto.from(await this.labels.update(caller.workspaceId, id, body));
  }

  @Delete(':id')
  @IdParam()
  @HttpCode(204)
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Delete a label', description: 'It is taken off every conversation that carries it.' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.labels.remove(caller.workspaceId, id);
  }
}
