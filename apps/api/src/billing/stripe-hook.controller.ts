import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BillingService } from '#billing';
import { Public } from '../auth/auth.decorators.js';
import { ApiProblemResponse } from '../http/api-docs.decorators.js';
import type { RawBodyRequest } from '../hooks/hook-body-parsers.js';
import { StripeHookAnswerDto } from './billing.dto.js';

/** Stripe's webhook: public, verified by its Stripe-Signature on the raw bytes (kept as bytes under /hooks/). */
@ApiTags('provider hooks')
@Public()
@Controller('hooks/stripe')
export class StripeHookController {
  constructor(private readonly billing: BillingService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: "Receive Stripe's events (checkout, subscriptions, invoices)",
    description: 'Verified on the raw body (300 s tolerance), stored by event id (a redelivery is a no-op) and processed by the worker, which applies the subscription as Stripe has it now.',
  })
  @ApiConsumes('application/json')
  @ApiHeader({ name: 'Stripe-Signature', required: true, description: 't=<timestamp>,v1=<HMAC-SHA256 of "t.body">' })
  @ApiBody({ description: 'The Stripe event, exactly as Stripe signed it', schema: { type: 'object', example: { id: 'evt_1', object: 'event', type: 'invoice.paid' } } })
  @ApiOkResponse({ type: StripeHookAnswerDto })
  @ApiProblemResponse(400, 'billing.invalid_signature: forged or older than 300 s; nothing stored')
  @ApiProblemResponse(404, 'billing.not_configured: billing is off on this installation')
  receive(@Req() request: RawBodyRequest, @Headers('stripe-signature') signature: string | undefined): Promise<StripeHookAnswerDto> {
    const body = request.rawBody ?? (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    return this.billing.receiveStripeHook(body, signature);
  }
}
