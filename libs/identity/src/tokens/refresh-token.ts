import { randomBytes } from 'node:crypto';
import { hashToken } from './api-key-token.js';

const PREFIX = 'frr_';
const FORMAT = /^frr_[\w-]{43}$/;

/** Refresh tokens are opaque: 256 random bits, stored only as their SHA-256. */
export function mintRefreshToken(): { token: string; hash: string } {
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

/** The hash to look up, or null when the string cannot be one of ours (no query needed). */
export function hashRefreshToken(token: string): string | null {
  return FORMAT.test(token) ? hashToken(token) : null;
}
