import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { DomainError } from '#domain';

const CURRENT_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals secrets at rest (inbox credentials, webhook signing secrets) with AES-256-GCM under a key
 * derived from APP_SECRET by HKDF-SHA256, so a database dump alone reveals no secret. Each use has
 * its own `purpose` (the HKDF info): a key for one kind of secret opens no other kind.
 *
 * Format: `v1.<iv>.<ciphertext>.<tag>` (base64url), a fresh random 12-byte IV each time. The
 * `context` (the owning row's id) is authenticated as associated data: a sealed value copied onto
 * another row does not open. The version names the key: to rotate, derive `v2` from the new
 * secret, seal with it, and keep `v1` among the keys until every row has been re-sealed.
 */
export class SecretCipher {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    appSecret: string,
    purpose: string,
    /** The error for a value that does not open (tampered, foreign, or APP_SECRET changed). */
    private readonly unreadable: () => DomainError,
  ) {
    this.keys = new Map([[CURRENT_VERSION, Buffer.from(hkdfSync('sha256', appSecret, Buffer.alloc(0), purpose, 32))]]);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(CURRENT_VERSION)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [CURRENT_VERSION, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  /** Opens a sealed value; a tampered, truncated or foreign value (or the wrong key) is refused. */
  open(sealed: string, context: string): string {
    const [version, iv, ciphertext, tag, ...rest] = sealed.split('.');
    const key = version === undefined ? undefined : this.keys.get(version);
    if (!key || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) throw this.unreadable();
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    // GCM would accept a shortened tag; only the full 16 bytes authenticate.
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw this.unreadable();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw this.unreadable();
    }
  }
}
