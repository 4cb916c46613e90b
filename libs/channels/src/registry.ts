import type { Channel } from '#domain';
import { ApiChannelAdapter } from './api/api.adapter.js';
import type { ChannelAdapter } from './channel-adapter.js';
import type { ChannelConfigs } from './config/channel-configs.js';
import { EmailAdapter } from './email/email.adapter.js';
import { LineAdapter } from './line/line.adapter.js';
import { SmsAdapter } from './sms/sms.adapter.js';
import { TelegramAdapter } from './telegram/telegram.adapter.js';
import { WechatAdapter } from './wechat/wechat.adapter.js';
import { WebchatAdapter } from './webchat/webchat.adapter.js';
import { WhatsappAdapter } from './whatsapp/whatsapp.adapter.js';

/*
 * ── Channel adapters ────────────────────────────────────────────────────────────────────────────
 * One adapter per Channel (#domain CHANNELS). To add a channel: add its folder with its adapter,
 * its config to ChannelConfigs, and its line here; the type refuses a channel without an adapter,
 * and an adapter whose config is not its channel's.
 */
export const ADAPTERS: { [C in Channel]: ChannelAdapter<ChannelConfigs[C]> } = {
  whatsapp: new WhatsappAdapter(),
  wechat: new WechatAdapter(),
  sms: new SmsAdapter(),
  email: new EmailAdapter(),
  telegram: new TelegramAdapter(),
  line: new LineAdapter(),
  webchat: new WebchatAdapter(),
  api: new ApiChannelAdapter(),
};

/** The adapter of a channel, typed with that channel's config. */
export function adapterFor<C extends Channel>(channel: C): ChannelAdapter<ChannelConfigs[C]> {
  return ADAPTERS[channel] as ChannelAdapter<ChannelConfigs[C]>;
}
