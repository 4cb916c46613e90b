import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#identity';
import { WorkspaceSettingsService } from '#messaging';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { UpdateWorkspaceSettingsDto, WorkspaceSettingsDto } from './workspace-settings.dto.js';

@ApiTags('workspace')
@ApiBearerAuth('bearer')
@Controller('v1/workspace/settings')
export class WorkspaceSettingsController {
  constructor(private readonly settings: WorkspaceSettingsService) {}

  @Get()
  @ApiOperation({ summary: "Get the workspace's settings (its default fallback policy)" })
  @ApiOkResponse({ type: WorkspaceSettingsDto })
  async get(@Caller() caller: Principal): Promise<WorkspaceSettingsDto> {
    return WorkspaceSettingsDto.from(await this.settings.get(caller.workspaceId));
  }

  @Patch()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: "Change the workspace's settings", description: 'Fields left out keep their value.' })
  @ApiOkResponse({ type: WorkspaceSettingsDto })
  async update(@Caller() caller: Principal, @Body() body: UpdateWorkspaceSettingsDto): Promise<WorkspaceSettingsDto> {
    return WorkspaceSettingsDto.from(await this.settings.update(caller.workspaceId, body));
  }
}
