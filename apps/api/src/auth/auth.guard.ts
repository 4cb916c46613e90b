import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { can, DomainError, type Permission } from '#domain';
import { AuthService } from '#identity';
import { RateLimiter } from '../http/rate-limiter.js';
import { type AuthenticatedRequest, PUBLIC_ROUTE, REQUIRED_PERMISSION } from './auth.decorators.js';

/**
 * Every route is authenticated unless marked @Public(): a bearer user access token or API key,
 * then the route's permission, then the caller's rate limit (per API key or per user).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly rateLimiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw DomainError.unauthenticated('auth.missing_token', 'Send Authorization: Bearer <token>');
    const principal = await this.auth.authenticate(match[1]);
    request.principal = principal;
    await this.rateLimiter.consume(principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`, reply);
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, targets);
    if (permission && !can(principal.role, permission)) {
      throw DomainError.forbidden('auth.forbidden', `Your role (${principal.role}) may not do this`);
    }
    return true;
  }
}
