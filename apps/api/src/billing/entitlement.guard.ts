import { applyDecorators, type CanActivate, type ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type EntitledAction, Entitlements } from '#billing';
import { parseInvitationToken } from '#identity';
import type { AuthenticatedRequest } from '../auth/auth.decorators.js';
import { ApiProblemResponse } from '../http/api-docs.decorators.js';

const ENTITLED_ACTION = 'ferry:entitled-action';

/**
 * The route changes something the plan limits: before anything is written, the billing lib decides
 * (402 `billing.limit_reached` with the plan to upgrade to, or `billing.past_due` for sending).
 */
export const Entitled = (action: EntitledAction): MethodDecorator =>
  applyDecorators(
    SetMetadata(ENTITLED_ACTION, action),
    UseGuards(EntitlementGuard),
    ApiProblemResponse(402, `billing.limit_reached: the plan's limit is reached (the answer names \`upgradeTo\`)${action === 'message.send' ? '; billing.past_due: payment failed and its grace period is over' : ''}`),
  );

@Injectable()
export class EntitlementGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly entitlements: Entitlements,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const action = this.reflector.get<EntitledAction | undefined>(ENTITLED_ACTION, context.getHandler());
    if (!action) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const workspaceId = workspaceOf(request, action);
    // Notes are never sent; a request the route will refuse anyway (unknown token) is left to it.
    if (!workspaceId || (action === 'message.send' && (request.body as { type?: unknown } | undefined)?.type === 'note')) return true;
    await this.entitlements.assertAllowed(workspaceId, action);
    return true;
  }
}

/** The caller's workspace; accepting an invitation is public, and its token names the workspace. */
function workspaceOf(request: AuthenticatedRequest, action: EntitledAction): string | null {
  if (action === 'member.accept') {
    const token = (request.params as Record<string, string> | undefined)?.['token'];
    return token ? (parseInvitationToken(token)?.workspaceId ?? null) : null;
  }
  return request.principal?.workspaceId ?? null;
}
