import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError, isUuid, ROLES, type Role } from '#domain';

/** What a user access token says: who (sub), in which workspace (wid), as which member (mid) and role. */
export interface AccessClaims {
  sub: string;
  wid: string;
  mid: string;
  role: Role;
}

export interface AccessTokenPayload extends AccessClaims {
  typ: 'access';
  iat: number;
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const SEGMENT = /^[\w-]+$/;
// Tolerated clock difference between API instances for a token "issued in the future".
const CLOCK_SKEW_SECONDS = 60;

/** The HMAC key of access tokens: derived, so APP_SECRET itself never signs anything directly. */
export function deriveAccessTokenKey(appSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, Buffer.alloc(0), 'ferry access token', 32));
}

/** A compact JWT (HS256). `now` is Unix seconds, injectable so tests can mint past tokens. */
export function signAccessToken(claims: AccessClaims, key: Buffer, ttlSeconds: number, now: number): string {
  const payload: AccessTokenPayload = { ...claims, typ: 'access', iat: now, exp: now + ttlSeconds };
  const body = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

/**
 * Checks the signature (constant time) before anything in the payload is believed, so only a token
 * we signed can be told apart as "expired"; everything else is `auth.invalid_token`.
 */
export function verifyAccessToken(token: string, key: Buffer, now: number): AccessTokenPayload {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part))) throw invalidToken();
  const [header, payload, signature] = parts as [string, string, string];
  const headerJson = parseJson(header);
  if (headerJson?.['alg'] !== 'HS256' || (headerJson['typ'] !== undefined && headerJson['typ'] !== 'JWT')) {
    throw invalidToken();
  }
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidToken();
  const claims = parseJson(payload);
  if (!claims || !isPayload(claims) || claims.iat > now + CLOCK_SKEW_SECONDS) throw invalidToken();
  if (claims.exp <= now) throw DomainError.unauthenticated('auth.token_expired', 'The access token has expired; refresh it');
  return claims;
}

/** Access tokens with the configured key and lifetime. */
@Injectable()
export class AccessTokenService {
  private readonly key: Buffer;

  constructor(@Inject(CONFIG) private readonly config: FerryConfig) {
    this.key = deriveAccessTokenKey(config.auth.appSecret);
  }

  get ttlSeconds(): number {
    return this.config.auth.accessTokenTtlSeconds;
  }

  sign(claims: AccessClaims, now = nowSeconds()): string {
    return signAccessToken(claims, this.key, this.ttlSeconds, now);
  }

  verify(token: string, now = nowSeconds()): AccessTokenPayload {
    return verifyAccessToken(token, this.key, now);
  }
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function invalidToken(): DomainError {
  return DomainError.unauthenticated('auth.invalid_token', 'The token is not valid');
}

function parseJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isPayload(value: Record<string, unknown>): value is Record<string, unknown> & AccessTokenPayload {
  const { sub, wid, mid, role, typ, iat, exp } = value;
  return (
    typ === 'access' &&
    [sub, wid, mid].every((id) => typeof id === 'string' && isUuid(id)) &&
    ROLES.includes(role as Role) &&
    Number.isSafeInteger(iat) &&
    Number.isSafeInteger(exp)
  );
}
