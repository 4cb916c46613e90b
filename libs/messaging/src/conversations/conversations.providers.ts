import type { Provider } from '@nestjs/common';

/** Contacts, conversations, messages and the API channel's inbound. */
export const CONVERSATION_PROVIDERS: Provider[] = [];
