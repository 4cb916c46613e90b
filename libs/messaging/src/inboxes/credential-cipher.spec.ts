import { createDecipheriv, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import { CredentialCipher } from './credential-cipher.js';

const SECRET = 'a-test-app-secret-of-at-least-32-characters';
const INBOX = '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d';
const PLAINTEXT = JSON.stringify({ accessToken: 'EAAG-plain-token-123', 'smtp.password': 'pässwörd ✓' });

function expectUnreadable(open: () => unknown): void {
  let caught: unknown;
  try {
    open();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DomainError);
  expect((caught as DomainError).code).toBe('inbox.credentials_unreadable');
}

/** Replaces one base64url part of a sealed value. */
function withPart(sealed: string, index: number, change: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[index] = change(Buffer.from(parts[index]!, 'base64url')).toString('base64url');
  return parts.join('.');
}

describe('CredentialCipher', () => {
  const cipher = new CredentialCipher(SECRET);

  it('round-trips, in the versioned format, without the plaintext in sight', () => {
    const sealed = cipher.seal(PLAINTEXT, INBOX);
    expect(sealed).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(sealed).not.toContain('EAAG');
    expect(cipher.open(sealed, INBOX)).toBe(PLAINTEXT);
  });

  it('uses a fresh IV every time', () => {
    const a = cipher.seal(PLAINTEXT, INBOX);
    const b = cipher.seal(PLAINTEXT, INBOX);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(a).not.toBe(b);
  });

  it('is AES-256-GCM under HKDF-SHA256(APP_SECRET, info "ferry inbox credentials") with the context as AAD', () => {
    const [, iv, ciphertext, tag] = cipher.seal(PLAINTEXT, INBOX).split('.');
    const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'ferry inbox credentials', 32));
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
    decipher.setAAD(Buffer.from(INBOX));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8');
    expect(plain).toBe(PLAINTEXT);
  });

  it('refuses a tampered ciphertext, IV or tag', () => {
    const sealed = cipher.seal(PLAINTEXT, INBOX);
    const flip = (bytes: Buffer) => {
      const copy = Buffer.from(bytes);
      copy[0] = copy[0]! ^ 0x01;
      return copy;
    };
    expectUnreadable(() => cipher.open(withPart(sealed, 2, flip), INBOX));
    expectUnreadable(() => cipher.open(withPart(sealed, 1, flip), INBOX));
    expectUnreadable(() => cipher.open(withPart(sealed, 3, flip), INBOX));
  });

  it('refuses a shortened tag (GCM would otherwise accept one)', () => {
    const sealed = cipher.seal(PLAINTEXT, INBOX);
    expectUnreadable(() => cipher.open(withPart(sealed, 3, (tag) => tag.subarray(0, 4)), INBOX));
  });

  it('refuses the wrong key', () => {
    const sealed = cipher.seal(PLAINTEXT, INBOX);
    expectUnreadable(() => new CredentialCipher('another-app-secret-of-at-least-32-chars').open(sealed, INBOX));
  });

  it('refuses a value sealed for another inbox', () => {
    const sealed = cipher.seal(PLAINTEXT, INBOX);
    expectUnreadable(() => cipher.open(sealed, '0195f3a2-7c1e-7d40-9a6b-000000000000'));
  });

  it.each(['', 'v1', 'v1.a.b', 'v2.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA', 'plaintext-token', 'v1.a.b.c.d'])(
    'refuses the malformed value %j',
    (sealed) => {
      expectUnreadable(() => cipher.open(sealed, INBOX));
    },
  );
});
