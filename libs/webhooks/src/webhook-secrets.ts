import { randomBytes } from 'node:crypto';
import { DomainError } from '#domain';
import { SecretCipher } from '#database';

/** A new signing secret: `whsec_` + base64 of 32 random bytes, the form Standard Webhooks libraries read. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** After a rotation the old secret keeps signing beside the new one for this long. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Webhook secrets at rest: sealed, not hashed, because Ferry must sign with them. The endpoint id is
 * the associated data, so a sealed secret copied to another endpoint does not open.
 */
export class WebhookSecretCipher extends SecretCipher {
  constructor(appSecret: string) {
    super(appSecret, 'ferry webhook secrets', unreadable);
  }
}

function unreadable(): DomainError {
  return new DomainError(
    'webhook_endpoint.secret_unreadable',
    'unavailable',
    "The endpoint's signing secret cannot be decrypted (was APP_SECRET changed?); rotate it",
  );
}
