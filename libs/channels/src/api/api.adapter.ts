import type { Channel } from '#domain';
import { standardWebhookSignature } from '#net';
import type { ChannelAdapter, OutboundMessage, ParsedHook, SendContext, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { ApiChannelConfig } from '../config/channel-configs.js';
import { malformed } from '../hook-payload.js';
import { callProvider, failure, httpFailure } from '../provider-http.js';

/**
 * The api channel: the integrator is the provider. Customers' messages come in through the REST API
 * (POST /v1/inboxes/{id}/inbound), so there is no provider hook; agents' replies are posted to the
 * integrator's webhookUrl, signed the Standard Webhooks way so the integrator can check them.
 */
export class ApiChannelAdapter implements ChannelAdapter<ApiChannelConfig> {
  readonly channel: Channel = 'api';

  verify(): VerifyOutcome {
    return { kind: 'rejected', code: 'hook.not_supported', reason: 'api inboxes receive messages through POST /v1/inboxes/{id}/inbound' };
  }

  async parse(): Promise<ParsedHook> {
    throw malformed('api inboxes have no provider hook');
  }

  async send(message: OutboundMessage, config: ApiChannelConfig, context: SendContext): Promise<SendOutcome> {
    if (!config.webhookUrl) return failure(undefined, true, 'api.no_webhook_url', 'The inbox has no webhookUrl to deliver replies to');
    const body = JSON.stringify({
      messageId: message.messageId,
      ...(message.conversationId ? { conversationId: message.conversationId } : {}),
      to: message.to,
      body: message.body,
      ...(message.template ? { template: message.template } : {}),
      ...(message.media ? { media: message.media } : {}),
    });
    const timestamp = Math.floor(context.now().getTime() / 1000);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'webhook-id': message.messageId, 'webhook-timestamp': String(timestamp) };
    if (config.webhookSecret) headers['webhook-signature'] = standardWebhookSignature(config.webhookSecret, message.messageId, timestamp, body);
    const result = await callProvider(config.webhookUrl, { headers, body, timeoutMs: context.timeoutMs, requestIdHeaders: ['x-request-id'], guard: context.guard });
    if (!result.ok) return result.failure;
    const { response } = result;
    if (response.status < 200 || response.status >= 300) return httpFailure(response, undefined, `api.http_${response.status}`);
    const outcome: SendOutcome = { ok: true, providerMessageId: message.messageId, responseCode: String(response.status) };
    if (response.requestId) outcome.providerRequestId = response.requestId;
    return outcome;
  }
}
