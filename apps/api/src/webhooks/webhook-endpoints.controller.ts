import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#identity';
import { RETRY_SCHEDULE_DESCRIPTION, WebhookEndpointsService, WebhookLogService } from '#webhooks';
import { ApiIdempotencyKey, ApiProblemResponse, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../http/pagination.dto.js';
import {
  CreateWebhookEndpointDto,
  UpdateWebhookEndpointDto,
  WebhookDeliveriesPageDto,
  WebhookDeliveryDto,
  WebhookEndpointDto,
  WebhookEndpointsPageDto,
  WebhookEndpointWithSecretDto,
} from './webhook-endpoints.dto.js';

const INVALID_ENDPOINT =
  'Invalid request (`request.invalid`, e.g. an unknown field), a URL Ferry may not call (`webhook_endpoint.invalid_url`: not https, ' +
  'credentials in it, or a private, loopback, link-local or metadata address), or an unknown event type (`webhook_endpoint.unknown_event_type`)';

const SIGNING =
  'Each delivery is a POST of the event envelope {id, type, createdAt, workspaceId, data} with the Standard Webhooks headers ' +
  '`webhook-id` (the event id, the same on every try and replay), `webhook-timestamp` (Unix seconds) and `webhook-signature` ' +
  '(`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the base64 bytes after `whsec_`; for 24 h after a rotation, ' +
  'two signatures separated by a space). ' + RETRY_SCHEDULE_DESCRIPTION;

const IdParam = (): MethodDecorator => ApiParam({ name: 'id', required: true, schema: { type: 'string', format: 'uuid' }, description: 'Webhook endpoint id' });
const ENDPOINT = entityId('webhook_endpoint');

@ApiTags('webhooks')
@ApiBearerAuth('bearer')
@RequirePermission('webhooks.manage')
@Controller('v1/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(
    private readonly endpoints: WebhookEndpointsService,
    private readonly log: WebhookLogService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List the webhook endpoints (never their secrets)', description: SIGNING })
  @ApiOkResponse({ type: WebhookEndpointsPageDto })
  list(@Caller() caller: Principal, @Query() query: PageQueryDto): Promise<WebhookEndpointsPageDto> {
    return this.endpoints.list(caller.workspaceId, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
  }

  @Post()
  @ApiOperation({ summary: 'Subscribe a URL to event types (the signing secret is in this answer only)', description: SIGNING })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: WebhookEndpointWithSecretDto })
  @ApiProblemResponse(400, INVALID_ENDPOINT)
  create(@Caller() caller: Principal, @Body() body: CreateWebhookEndpointDto): Promise<WebhookEndpointWithSecretDto> {
    return this.endpoints.create(caller.workspaceId, body);
  }

  @Get(':id')
  @IdParam()
  @ApiOperation({ summary: 'Get a webhook endpoint, with disabledAt and disabledReason when it was disabled' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  get(@Caller() caller: Principal, @Param('id', ENDPOINT) id: string): Promise<WebhookEndpointDto> {
    return this.endpoints.get(caller.workspaceId, id);
  }

  @Patch(':id')
  @IdParam()
  @ApiOperation({ summary: 'Change the URL or event types, or turn the endpoint back on ({"enabled": true})' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiProblemResponse(400, INVALID_ENDPOINT)
  update(@Caller() caller: Principal, @Param('id', ENDPOINT) id: string, @Body() body: UpdateWebhookEndpointDto): Promise<WebhookEndpointDto> {
    return this.endpoints.update(caller.workspaceId, id, body);
  }

  @Delete(':id')
  @IdParam()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook endpoint and its delivery log' })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Caller() caller: Principal, @Param('id', ENDPOINT) id: string): Promise<void> {
    await this.endpoints.remove(caller.workspaceId, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @IdParam()
  @ApiOperation({
    summary: 'Replace the signing secret (the new one is in this answer only)',
    description: 'For 24 hours the old secret keeps signing beside the new one: webhook-signature carries both, space-separated.',
  })
  @ApiOkResponse({ type: WebhookEndpointWithSecretDto })
  rotateSecret(@Caller() caller: Principal, @Param('id', ENDPOINT) id: string): Promise<WebhookEndpointWithSecretDto> {
    return this.endpoints.rotateSecret(caller.workspaceId, id);
  }

  @Post(':id/test')
  @HttpCode(200)
  @IdParam()
  @ApiOperation({
    summary: 'Send a `webhook.test` event to the endpoint now (once, no retries) and answer the logged delivery',
    description: 'The answer carries the attempt: status code, latency, the start of the response, or the error.',
  })
  @ApiOkResponse({ type: WebhookDeliveryDto })
  test(@Caller() caller: Principal, @Param('id', ENDPOINT) id: string): Promise<WebhookDeliveryDto> {
    return this.log.test(caller.workspaceId, id);
  }

  @Get(':id/deliveries')
  @IdParam()
  @ApiOperation({ summary: 'The delivery log: the endpoint\'s deliveries, newest first, each with every attempt (time, status code, latency, response excerpt, error)' })
  @ApiOkResponse({ type: WebhookDeliveriesPageDto })
  deliveries(@Caller() caller: Principal, @Param('id', ENDPOINT) id: string, @Query() query: PageQueryDto): Promise<WebhookDeliveriesPageDto> {
    return this.log.list(caller.workspaceId, id, { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor });
  }
}
