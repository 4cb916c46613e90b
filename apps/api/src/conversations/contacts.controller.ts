import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Principal } from '#identity';
import { ContactsService, ReachabilityService } from '#messaging';
import { DEFAULT_PAGE_SIZE } from '../http/pagination.dto.js';
import { ApiIdempotencyKey, ApiProblemResponse, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import {
  ContactDto,
  ContactPageDto,
  ContactQueryDto,
  CreateContactDto,
  CreateIdentityDto,
  IdentityDto,
  UpdateContactDto,
} from './contacts.dto.js';
import { ContactReachabilityDto } from './reachability.dto.js';


@ApiTags('contacts')
@ApiBearerAuth('bearer')
@RequirePermission('conversations.work')
@Controller('v1/contacts')
export class ContactsController {
  constructor(
    private readonly contacts: ContactsService,
    private readonly reachability: ReachabilityService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List contacts, newest first; ?q= searches name, email and phone' })
  @ApiOkResponse({ type: ContactPageDto })
  async list(@Caller() caller: Principal, @Query() query: ContactQueryDto): Promise<ContactPageDto> {
    const page = await this.contacts.list(caller.workspaceId, { q: query.q, cursor: query.cursor, limit: query.limit ?? DEFAULT_PAGE_SIZE });
    return { data: page.data.map((contact) => ContactDto.from(contact)), nextCursor: page.nextCursor };
  }

  @Post()
  @ApiOperation({ summary: 'Create a contact' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: ContactDto })
  @ApiProblemResponse(409, 'contact.email_taken or contact.phone_taken')
  async create(@Caller() caller: Principal, @Body() body: CreateContactDto): Promise<ContactDto> {
    const { contact, identities } = await this.contacts.create(caller.workspaceId, body);
    return ContactDto.from(contact, identities);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a contact with its identities' })
  @ApiOkResponse({ type: ContactDto })
  async get(@Caller() caller: Principal, @Param('id', entityId('contact')) id: string): Promise<ContactDto> {
    const { contact, identities } = await this.contacts.get(caller.workspaceId, id);
    return ContactDto.from(contact, identities);
  }

  @Get(':id/reachability')
  @ApiOperation({
    summary: 'Which identities can take a message now, until when, how many remain, and the default one',
    description:
      "Per identity: WhatsApp free-form within 24 h of the customer's last message (templates always); WeChat 5 messages within 48 h " +
      "of the user's last message; LINE push always (replyTokenUntil: a free reply until then); SMS, email, Telegram, API and web chat: no window.",
  })
  @ApiOkResponse({ type: ContactReachabilityDto })
  async getReachability(@Caller() caller: Principal, @Param('id', entityId('contact')) id: string): Promise<ContactReachabilityDto> {
    return ContactReachabilityDto.from(await this.reachability.forContact(caller.workspaceId, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update a contact (null clears a field)' })
  @ApiOkResponse({ type: ContactDto })
  @ApiProblemResponse(409, 'contact.email_taken or contact.phone_taken')
  async update(
    @Caller() caller: Principal,
    @Param('id', entityId('contact')) id: string,
    @Body() body: UpdateContactDto,
  ): Promise<ContactDto> {
    const { contact, identities } = await this.contacts.update(caller.workspaceId, id, body);
    return ContactDto.from(contact, identities);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a contact (it and its conversations disappear from the API)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Caller() caller: Principal, @Param('id', entityId('contact')) id: string): Promise<void> {
    await this.contacts.remove(caller.workspaceId, id);
  }

  @Post(':id/identities')
  @ApiOperation({ summary: 'Link an address on an inbox (OpenID, wa_id, phone, email...) to the contact' })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: IdentityDto })
  @ApiProblemResponse(409, 'identity.taken: the address belongs to another contact')
  async addIdentity(
    @Caller() caller: Principal,
    @Param('id', entityId('contact')) id: string,
    @Body() body: CreateIdentityDto,
  ): Promise<IdentityDto> {
    return IdentityDto.from(await this.contacts.addIdentity(caller.workspaceId, id, body));
  }
}
