import { type CallHandler, type ExecutionContext, HttpStatus, Injectable, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { from, type Observable, of, switchMap, catchError, throwError } from 'rxjs';
import { IdempotencyStore } from './idempotency.store.js';
import type { AuthenticatedRequest } from '../auth/auth.decorators.js';

/**
 * Idempotency-Key on creating POSTs: the first response for a key is kept 24 hours and replayed
 * (with Idempotent-Replayed: true) for the same key and body; the same key with another body is 422.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = request.headers['idempotency-key'];
    const principal = request.principal;
    if (request.method !== 'POST' || typeof key !== 'string' || !principal) return next.handle();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? HttpStatus.CREATED;
    const fingerprint = IdempotencyStore.fingerprint(request.method, request.url, request.body);

    return from(this.store.begin(principal.workspaceId, key, fingerprint)).pipe(
      switchMap((earlier) => {
        if (earlier) {
          void reply.status(earlier.statusCode).header('Idempotent-Replayed', 'true');
          return of(earlier.response);
        }
        return next.handle().pipe(
          switchMap((response) => from(this.store.complete(principal.workspaceId, key, status, response).then(() => response))),
          catchError((error: unknown) => from(this.store.abandon(principal.workspaceId, key)).pipe(switchMap(() => throwError(() => error)))),
        );
      }),
    );
  }
}
