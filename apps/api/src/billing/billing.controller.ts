import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BillingService } from '#billing';
import type { Principal } from '#identity';
import { Caller, RequirePermission } from '../auth/auth.decorators.js';
import { ApiProblemResponse } from '../http/api-docs.decorators.js';
import { BillingDto, BillingUrlDto, CheckoutDto } from './billing.dto.js';

const NOT_CONFIGURED = 'billing.not_configured: billing is off on this installation (no Stripe key); nothing is limited';
const STRIPE_DOWN = 'billing.stripe_unavailable: Stripe could not be reached; retry';

@ApiTags('billing')
@ApiBearerAuth('bearer')
@Controller('v1/billing')
export class BillingController {
  constructor(private readonly billing: BillingService) {}

  @Get()
  @ApiOperation({ summary: "The workspace's plan, subscription status and period, its limits and its usage so far" })
  @ApiOkResponse({ type: BillingDto })
  overview(@Caller() caller: Principal): Promise<BillingDto> {
    return this.billing.overview(caller.workspaceId);
  }

  @Post('checkout')
  @HttpCode(200)
  @RequirePermission('billing.manage')
  @ApiOperation({ summary: 'Start a Stripe Checkout for a paid plan (subscription, per seat); owners and admins', description: 'Answers the Checkout URL. The plan applies once Stripe confirms the payment (its webhook).' })
  @ApiOkResponse({ type: BillingUrlDto })
  @ApiProblemResponse(400, 'request.invalid, or billing.seats_below_members: fewer seats than members')
  @ApiProblemResponse(404, NOT_CONFIGURED)
  @ApiProblemResponse(409, 'billing.already_subscribed: use the customer portal to change the plan or seats')
  @ApiProblemResponse(503, STRIPE_DOWN)
  checkout(@Caller() caller: Principal, @Body() body: CheckoutDto): Promise<BillingUrlDto> {
    return this.billing.checkout(caller.workspaceId, body);
  }

  @Post('portal')
  @HttpCode(200)
  @RequirePermission('billing.manage')
  @ApiOperation({ summary: "Open Stripe's customer portal (card, invoices, plan, cancel); owners and admins" })
  @ApiOkResponse({ type: BillingUrlDto })
  @ApiProblemResponse(404, NOT_CONFIGURED)
  @ApiProblemResponse(503, STRIPE_DOWN)
  portal(@Caller() caller: Principal): Promise<BillingUrlDto> {
    return this.billing.portal(caller.workspaceId);
  }
}
