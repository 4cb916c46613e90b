import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService, type Principal } from '#identity';
import { ApiIdempotencyKey } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../http/pagination.dto.js';
import { ApiKeysPageDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto.js';

@ApiTags('api-keys')
@ApiBearerAuth('bearer')
@RequirePermission('api_keys.manage')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Get()
  @ApiOperation({ summary: 'List the API keys in use (never the keys themselves)' })
  @ApiOkResponse({ type: ApiKeysPageDto })
  list(@Caller() caller: Principal, @Query() query: PageQueryDto): Promise<ApiKeysPageDto> {
    return this.apiKeys.list(caller, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
  }

  @Post()
  @ApiOperation({ summary: 'Create an API key (the key is in this answer only)' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@Caller() caller: Principal, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.apiKeys.create(caller, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key: it answers 401 from now on' })
  @ApiNoContentResponse({ description: 'Revoked' })
  revoke(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    return this.apiKeys.revoke(caller, id);
  }
}
