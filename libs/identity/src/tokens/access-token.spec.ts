import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config';
import { DomainError, uuidv7 } from '#domain';
import { type AccessClaims, AccessTokenService, deriveAccessTokenKey, signAccessToken, verifyAccessToken } from './access-token.js';

const key = deriveAccessTokenKey('a-long-enough-application-secret-for-tests');
const claims: AccessClaims = { sub: uuidv7(), wid: uuidv7(), mid: uuidv7(), role: 'agent' };
const NOW = 1_800_000_000;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not-a-domain-error';
  }
  return undefined;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens (HS256 JWT)', () => {
  it('signs and verifies the claims with iat and exp from the injected clock', () => {
    const token = signAccessToken(claims, key, 900, NOW);
    const [header] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(verifyAccessToken(token, key, NOW + 899)).toEqual({ ...claims, typ: 'access', iat: NOW, exp: NOW + 900 });
  });

  it('answers auth.token_expired once exp has passed', () => {
    const token = signAccessToken(claims, key, 10, NOW);
    expect(codeOf(() => verifyAccessToken(token, key, NOW + 9))).toBeUndefined();
    expect(codeOf(() => verifyAccessToken(token, key, NOW + 10))).toBe('auth.token_expired');
  });

  it('rejects a token signed with another key', () => {
    const other = signAccessToken(claims, deriveAccessTokenKey('another-application-secret-of-32-chars'), 900, NOW);
    expect(codeOf(() => verifyAccessToken(other, key, NOW))).toBe('auth.invalid_token');
  });

  it('rejects an expired token signed with another key as invalid, not expired', () => {
    const other = signAccessToken(claims, deriveAccessTokenKey('another-application-secret-of-32-chars'), 10, NOW - 100);
    expect(codeOf(() => verifyAccessToken(other, key, NOW))).toBe('auth.invalid_token');
  });

  it('rejects alg none and other algorithms', () => {
    const [, payload] = signAccessToken(claims, key, 900, NOW).split('.');
    expect(codeOf(() => verifyAccessToken(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`, key, NOW))).toBe('auth.invalid_token');
    expect(codeOf(() => verifyAccessToken(`${b64({ alg: 'none' })}.${payload}.x`, key, NOW))).toBe('auth.invalid_token');
    // HS512 with a valid HS256 signature over the same bytes is still refused by the header check.
    const header = b64({ alg: 'HS512', typ: 'JWT' });
    const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
    expect(codeOf(() => verifyAccessToken(`${header}.${payload}.${signature}`, key, NOW))).toBe('auth.invalid_token');
  });

  it('rejects a tampered payload', () => {
    const [header, payload, signature] = signAccessToken(claims, key, 900, NOW).split('.');
    const promoted = b64({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'owner' });
    expect(codeOf(() => verifyAccessToken(`${header}.${promoted}.${signature}`, key, NOW))).toBe('auth.invalid_token');
  });

  it('rejects a correctly signed payload that is not an access token', () => {
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const sign = (payload: unknown): string => {
      const body = `${header}.${b64(payload)}`;
      return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
    };
    const good = { ...claims, typ: 'access', iat: NOW, exp: NOW + 60 };
    expect(codeOf(() => verifyAccessToken(sign(good), key, NOW))).toBeUndefined();
    for (const bad of [{ ...good, typ: 'refresh' }, { ...good, role: 'root' }, { ...good, sub: 'x' }, { ...good, exp: '9' }, { ...good, iat: NOW + 3600 }, [good]]) {
      expect(codeOf(() => verifyAccessToken(sign(bad), key, NOW))).toBe('auth.invalid_token');
    }
  });

  it.each(['', 'a.b', 'a.b.c.d', 'not a token', '..', 'e30.e30.', 'fry_abc'])('rejects malformed token %j', (token) => {
    expect(codeOf(() => verifyAccessToken(token, key, NOW))).toBe('auth.invalid_token');
  });
});

describe('AccessTokenService', () => {
  it('signs with the configured lifetime and an injected clock, and refuses the token once it lapses', () => {
    const config = loadConfig({ APP_SECRET: 'x'.repeat(40), ACCESS_TOKEN_TTL_SECONDS: '10' }, {});
    const service = new AccessTokenService(config);
    const token = service.sign(claims, NOW);
    expect(service.verify(token, NOW + 9)).toMatchObject({ ...claims, iat: NOW, exp: NOW + 10 });
    expect(codeOf(() => service.verify(token, NOW + 10))).toBe('auth.token_expired');
    // The same secret gives the same key: another API instance accepts the token.
    expect(new AccessTokenService(config).verify(token, NOW)).toMatchObject(claims);
  });
});
