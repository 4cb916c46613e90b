import { ParseUUIDPipe } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { DomainError } from '#domain';

/** Documents an error answer particular to one operation, as problem+json with its code in the description. */
export const ApiProblemResponse = (status: number, description: string): MethodDecorator & ClassDecorator =>
  ApiResponse({ status, description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

/** Documents the Idempotency-Key header of a creating POST (IdempotencyInterceptor implements it). */
export const ApiIdempotencyKey = (): MethodDecorator & ClassDecorator =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retry safely: the same key and body within 24 h returns the first response (Idempotent-Replayed: true); another body is 422',
  });

/** A path id: anything that is not a UUID cannot exist, so it answers 404 like an unknown one. */
export const entityId = (entity: string): ParseUUIDPipe =>
  new ParseUUIDPipe({ exceptionFactory: () => DomainError.notFound(entity) });
