import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CONFIG, type FerryConfig } from '#config';
import type { HookReply, HookRequest } from '#channels';
import { HookService } from '#messaging';
import { Public } from '../auth/auth.decorators.js';
import { ApiProblemResponse } from '../http/api-docs.decorators.js';
import type { RawBodyRequest } from './hook-body-parsers.js';

const PROVIDER_CHANNELS = ['whatsapp', 'wechat', 'sms', 'email', 'line', 'telegram'];

const CHANNEL_PARAM = ApiParam({ name: 'channel', enum: PROVIDER_CHANNELS, description: "The inbox's channel", example: 'whatsapp' });
const INBOX_PARAM = ApiParam({ name: 'inboxId', format: 'uuid', description: 'The inbox (its webhookUrl names it)', example: '0192f1d2-7c1a-7b3e-9f00-4a2b1c3d4e5f' });
const REPLY_CONTENT = {
  'text/plain': { schema: { type: 'string', example: 'success' } },
  'text/xml': { schema: { type: 'string', example: '<Response/>' } },
};

/**
 * The providers' webhooks. Public (no bearer token, outside the per-caller rate limit): each call is
 * verified by its provider's signature or token instead, on the raw body. One call into HookService.
 */
@ApiTags('provider hooks')
@Public()
@Controller('hooks')
export class HooksController {
  constructor(
    private readonly hooks: HookService,
    @Inject(CONFIG) private readonly config: FerryConfig,
  ) {}

  @Get(':channel/:inboxId')
  @ApiOperation({
    summary: "Answer a provider's webhook verification (WhatsApp hub.challenge, WeChat echostr)",
    description: 'Nothing is stored. The provider calls it when the webhook URL is registered.',
  })
  @CHANNEL_PARAM
  @INBOX_PARAM
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The challenge echoed back, as the provider expects', content: { 'text/plain': { schema: { type: 'string', example: '1158201444' } } } })
  @ApiProblemResponse(401, 'hook.invalid_signature: the verify token or signature is wrong')
  @ApiProblemResponse(404, 'inbox.not_found: no such inbox, or it is not an inbox of this channel')
  async verify(
    @Param('channel') channel: string,
    @Param('inboxId') inboxId: string,
    @Req() request: RawBodyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    send(reply, await this.hooks.receive(channel, inboxId, hookRequestOf(request, this.config.http.publicUrl)));
  }

  @Post(':channel/:inboxId')
  @HttpCode(200)
  @ApiOperation({
    summary: "Receive a provider's events (messages, delivery receipts, follows)",
    description:
      'Verified on the raw body with the inbox\'s credentials, stored, queued, answered at once; processed by the worker. ' +
      'A redelivered event (same provider id) is stored once and answered the same.',
  })
  @CHANNEL_PARAM
  @INBOX_PARAM
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded', 'text/xml', 'multipart/form-data')
  @ApiBody({ required: false, description: "The provider's payload, exactly as it signed it", schema: { type: 'string', example: '{"object":"whatsapp_business_account","entry":[]}' } })
  @ApiOkResponse({ description: "Stored (or stored before): the answer the provider expects (WeChat `success`, Twilio `<Response/>`, else empty)", content: REPLY_CONTENT })
  @ApiProblemResponse(400, 'hook.malformed: the payload cannot be read; nothing stored')
  @ApiProblemResponse(401, 'hook.invalid_signature: the signature or token does not match; nothing stored')
  @ApiProblemResponse(404, 'inbox.not_found: no such inbox, or it is not an inbox of this channel')
  async receive(
    @Param('channel') channel: string,
    @Param('inboxId') inboxId: string,
    @Req() request: RawBodyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    send(reply, await this.hooks.receive(channel, inboxId, hookRequestOf(request, this.config.http.publicUrl)));
  }
}

/** The call as the provider made it: the URL it signed (PUBLIC_URL + path and query), headers, raw bytes. */
function hookRequestOf(request: RawBodyRequest, publicUrl: string): HookRequest {
  const url = `${publicUrl}${request.url}`;
  const query: Record<string, string> = {};
  for (const [key, value] of new URL(url).searchParams) query[key] ??= value;
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  const body = request.rawBody ?? (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
  // HEAD (which Fastify routes to the GET handler) is a GET without a body.
  return { method: request.method === 'POST' ? 'POST' : 'GET', url, query, headers, rawBody: body, receivedAt: new Date() };
}

function send(reply: FastifyReply, answer: HookReply): void {
  void reply.status(answer.status).header('Content-Type', answer.contentType).send(answer.body);
}
