import type { Provider } from '@nestjs/common';
import { InboxesRepository } from './inboxes.repository.js';

export const INBOX_PROVIDERS: Provider[] = [InboxesRepository];
