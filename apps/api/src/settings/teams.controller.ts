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
import { TeamsService } from '#messaging';
import { ApiProblemResponse, ApiIdempotencyKey } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../http/pagination.dto.js';
import { CreateTeamDto, TeamDto, TeamsPageDto, UpdateTeamDto } from './teams.dto.js';

const INVALID = 'Invalid request (`request.invalid`), or a memberId that is not a member of this workspace (`team.invalid_member`)';
const NAME_TAKEN = 'A team with this name exists (`team.name_taken`)';

const IdParam = (): MethodDecorator => ApiParam({ name: 'id', required: true, schema: { type: 'string', format: 'uuid' }, description: 'Team id' });

@ApiTags('teams')
@ApiBearerAuth('bearer')
@Controller('v1/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Get()
  @ApiOperation({ summary: 'List teams, by name' })
  @ApiOkResponse({ type: TeamsPageDto })
  async list(@Caller() caller: Principal, @Query() query: PageQueryDto): Promise<TeamsPageDto> {
    return TeamsPageDto.from(await this.teams.list(caller.workspaceId, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor }));
  }

  @Post()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Create a team' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: TeamDto })
  @ApiProblemResponse(400, INVALID)
  @ApiProblemResponse(409, NAME_TAKEN)
  async create(@Caller() caller: Principal, @Body() body: CreateTeamDto): Promise<TeamDto> {
    return TeamDto.from(await this.teams.create(caller.workspaceId, body));
  }

  @Get(':id')
  @IdParam()
  @ApiOperation({ summary: 'Get a team with its members' })
  @ApiOkResponse({ type: TeamDto })
  async get(@Caller() caller: Principal, @Param('id') id: string): Promise<TeamDto> {
    return TeamDto.from(await this.teams.get(caller.workspaceId, id));
  }

  @Patch(':id')
  @IdParam()
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Rename a team, describe it, or replace its members' })
  @ApiOkResponse({ type: TeamDto })
  @ApiProblemResponse(400, INVALID)
  @ApiProblemResponse(409, NAME_TAKEN)
  async update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: UpdateTeamDto): Promise<TeamDto> {
    return TeamDto.from(await this.teams.update(caller.workspaceId, id, body));
  }

  @Delete(':id')
  @IdParam()
  @HttpCode(204)
  @RequirePermission('settings.manage')
  @ApiOperation({ summary: 'Delete a team', description: 'Its conversations stay, no longer routed to a team.' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.teams.remove(caller.workspaceId, id);
  }
}
