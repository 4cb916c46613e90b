import { ParseUUIDPipe } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';
import { DomainError } from '#domain';

/** A path id: anything that is not a UUID cannot exist, so it answers 404 like an unknown one. */
export const entityId = (entity: string): ParseUUIDPipe =>
  new ParseUUIDPipe({ exceptionFactory: () => DomainError.notFound(entity) });

/** Optional, but not nullable: absent is fine, null is validated (and refused) like any other value. */
export const OptionalNotNull = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** A field checked by one of the libs' pure rules (the services check them again for other callers). */
export function Satisfies(
  name: string,
  rule: (value: unknown) => boolean,
  message: string | ((value: unknown) => string),
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => rule(value),
        defaultMessage: (args) => (typeof message === 'string' ? message : message(args?.value)),
      },
    },
    options,
  );
}

export const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** Documents an error answer particular to one operation, as problem+json with its code in the description. */
export const ApiProblemResponse = (status: number, description: string): MethodDecorator =>
  ApiResponse({ status, description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
