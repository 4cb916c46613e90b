import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MembersService, type Principal } from '#identity';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../http/pagination.dto.js';
import { MemberDto, MembersPageDto, UpdateMemberDto } from './members.dto.js';

@ApiTags('members')
@ApiBearerAuth('bearer')
@Controller('v1/members')
export class MembersController {
  constructor(private readonly members: MembersService) {}

  @Get()
  @ApiOperation({ summary: 'List the workspace\'s members' })
  @ApiOkResponse({ type: MembersPageDto })
  list(@Caller() caller: Principal, @Query() query: PageQueryDto): Promise<MembersPageDto> {
    return this.members.list(caller, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
  }

  @Patch(':id')
  @RequirePermission('members.manage')
  @ApiOperation({ summary: 'Change a member\'s role, languages or capacity (409 `member.last_owner` for the last owner)' })
  @ApiOkResponse({ type: MemberDto })
  update(@Caller() caller: Principal, @Param('id') id: string, @Body() body: UpdateMemberDto): Promise<MemberDto> {
    return this.members.update(caller, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('members.manage')
  @ApiOperation({ summary: 'Remove a member from the workspace and end their sessions in it' })
  @ApiNoContentResponse({ description: 'Removed' })
  remove(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    return this.members.remove(caller, id);
  }
}
