import type { Provider } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { CredentialCipher } from './credential-cipher.js';
import { InboxesRepository } from './inboxes.repository.js';
import { InboxesService } from './inboxes.service.js';

export const INBOX_PROVIDERS: Provider[] = [
  InboxesRepository,
  InboxesService,
  { provide: CredentialCipher, inject: [CONFIG], useFactory: (config: FerryConfig) => new CredentialCipher(config.auth.appSecret) },
];
