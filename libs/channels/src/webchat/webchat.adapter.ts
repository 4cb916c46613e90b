import type { Channel } from '#domain';
import type { ChannelAdapter, OutboundMessage, ParsedHook, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { WebchatConfig } from '../config/channel-configs.js';
import { malformed } from '../hook-payload.js';

/**
 * The chat widget reads its thread from Ferry itself, so "sending" is storing, which the pipeline
 * has already done: nothing leaves Ferry, and there is no provider to call us back.
 */
export class WebchatAdapter implements ChannelAdapter<WebchatConfig> {
  readonly channel: Channel = 'webchat';

  verify(): VerifyOutcome {
    return { kind: 'rejected', code: 'hook.not_supported', reason: 'webchat inboxes have no provider hook' };
  }

  async parse(): Promise<ParsedHook> {
    throw malformed('webchat inboxes have no provider hook');
  }

  async send(message: OutboundMessage): Promise<SendOutcome> {
    return { ok: true, providerMessageId: message.messageId, responseCode: 'local' };
  }
}
