import { DomainError } from '#domain';
import { SecretCipher } from '#database';

/** Inbox credentials at rest: the shared SecretCipher under the inbox purpose (see #database). */
export class CredentialCipher extends SecretCipher {
  constructor(appSecret: string) {
    super(appSecret, 'ferry inbox credentials', unreadable);
  }
}

function unreadable(): DomainError {
  return new DomainError(
    'inbox.credentials_unreadable',
    'unavailable',
    "The inbox's stored credentials cannot be decrypted (was APP_SECRET changed?); enter them again",
  );
}
