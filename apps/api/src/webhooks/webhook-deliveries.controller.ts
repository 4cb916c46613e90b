import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#identity';
import { WebhookLogService } from '#webhooks';
import { ApiProblemResponse, entityId } from '../http/api-docs.decorators.js';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { WebhookDeliveryDto } from './webhook-endpoints.dto.js';

@ApiTags('webhooks')
@ApiBearerAuth('bearer')
@RequirePermission('webhooks.manage')
@Controller('v1/webhook-deliveries')
export class WebhookDeliveriesController {
  constructor(private readonly log: WebhookLogService) {}

  @Post(':id/replay')
  @HttpCode(202)
  @ApiParam({ name: 'id', required: true, schema: { type: 'string', format: 'uuid' }, description: 'Webhook delivery id' })
  @ApiOperation({
    summary: 'Deliver the event again (same webhook-id), as a new delivery on the retry schedule',
    description: 'Answers the new delivery, pending; follow it in the endpoint\'s delivery log.',
  })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiProblemResponse(409, 'The endpoint is disabled (`webhook_endpoint.disabled`): enable it first')
  replay(@Caller() caller: Principal, @Param('id', entityId('webhook_delivery')) id: string): Promise<WebhookDeliveryDto> {
    return this.log.replay(caller.workspaceId, id);
  }
}
