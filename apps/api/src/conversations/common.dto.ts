import { ValidateBy, ValidateIf, type ValidationOptions } from 'class-validator';

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
