import { createHmac } from 'node:crypto';

/**
 * `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (https://www.standardwebhooks.com). A
 * `whsec_` secret is base64 key bytes, as the Standard Webhooks libraries read it; any other text is
 * used as UTF-8 bytes.
 */
export function standardWebhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The webhook-signature header: one `v1,` signature per secret, space-separated (rotation signs with both). */
export function standardWebhookSignatures(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => standardWebhookSignature(secret, id, timestamp, body)).join(' ');
}
