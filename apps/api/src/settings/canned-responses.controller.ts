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
import { CannedResponsesService } from '#messaging';
import { ApiProblemResponse, ApiIdempotencyKey } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE } from '../http/pagination.dto.js';
import {
  CannedResponseDto,
  CannedResponsesPageDto,
  CannedResponsesQueryDto,
  CreateCannedResponseDto,
  UpdateCannedResponseDto,
} from './canned-responses.dto.js';

const SHORT_CODE_TAKEN = 'A canned response with this short code exists (`canned_response.short_code_taken`)';

const IdParam = (): MethodDecorator => ApiParam({ name: 'id', required: true, schema: { type: 'string', format: 'uuid' }, description: 'Canned response id' });

@ApiTags('canned-responses')
@ApiBearerAuth('bearer')
@Controller('v1/canned-responses')
export class CannedResponsesController {
  constructor(private readonly cannedResponses: CannedResponsesService) {}

  @Get()
  @ApiOperation({ summary: 'List canned responses by short code, optionally those starting with ?q=' })
  @ApiOkResponse({ type: CannedResponsesPageDto })
  async list(@Caller() caller: Principal, @Query() query: CannedResponsesQueryDto): Promise<CannedResponsesPageDto> {
    return CannedResponsesPageDto.from(
      await this.cannedResponses.list(caller.workspaceId, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor, q: query.q }),
    );
  }

  @Post()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Create a canned response' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: CannedResponseDto })
  @ApiProblemResponse(409, SHORT_CODE_TAKEN)
  async create(@Caller() caller: Principal, @Body() body: CreateCannedResponseDto): Promise<CannedResponseDto> {
    return CannedResponseDto.from(await this.cannedResponses.create(caller.workspaceId, body));
  }

  @Get(':id')
  @IdParam()
  @ApiOperation({ summary: 'Get a canned response' })
  @ApiOkResponse({ type: CannedResponseDto })
  async get(@Caller() caller: Principal, @Param('id') id: string): Promise<CannedResponseDto> {
    return CannedResponseDto.from(await this.cannedResponses.get(caller.workspaceId, id));
  }

  @Patch(':id')
  @IdParam()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Change a canned response' })
  @ApiOkResponse({ type: CannedResponseDto })
  @ApiProblemResponse(409, SHORT_CODE_TAKEN)
  async update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: UpdateCannedResponseDto): Promise<CannedResponseDto> {
    return CannedResponseDto.from(await this.cannedResponses.update(caller.workspaceId, id, body));
  }

  @Delete(':id')
  @IdParam()
  @HttpCode(204)
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Delete a canned response' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.cannedResponses.remove(caller.workspaceId, id);
  }
}
