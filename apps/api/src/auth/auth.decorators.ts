import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Permission } from '#domain';
import type { Principal } from '#identity';

export const PUBLIC_ROUTE = 'ferry:public';
export const REQUIRED_PERMISSION = 'ferry:permission';

/** The route needs no token (sign-up, login, provider hooks, health). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** The caller's role must grant `permission`. */
export const RequirePermission = (permission: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_PERMISSION, permission);

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/** The authenticated caller, set by AuthGuard. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('Caller used on a public route');
  return principal;
});
