import { Module } from '@nestjs/common';
import { CONVERSATION_PROVIDERS } from './conversations/conversations.providers.js';
import { FALLBACK_PROVIDERS } from './delivery/fallback.providers.js';
import { EVENT_PROVIDERS } from './events/events.providers.js';
import { HOOK_PROVIDERS } from './hooks/hooks.providers.js';
import { INBOX_PROVIDERS } from './inboxes/inboxes.providers.js';
import { REACHABILITY_PROVIDERS } from './reachability/reachability.providers.js';
import { SETTINGS_PROVIDERS } from './settings/settings.providers.js';
import { TEMPLATE_PROVIDERS } from './templates/templates.providers.js';

const PROVIDERS = [
  ...INBOX_PROVIDERS,
  ...SETTINGS_PROVIDERS,
  ...CONVERSATION_PROVIDERS,
  ...HOOK_PROVIDERS,
  ...REACHABILITY_PROVIDERS,
  ...TEMPLATE_PROVIDERS,
  ...FALLBACK_PROVIDERS,
  ...EVENT_PROVIDERS,
];

/** The inbox domain: inboxes, contacts, conversations, messages, and the workspace's settings. */
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class MessagingModule {}
