/**
 * Every failure a lib reports to a caller is a DomainError with a stable code.
 * The API's one exception filter maps the code's kind to an HTTP status; the code itself
 * is part of the public contract (problem+json `code`), so never rename one.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'rate_limited'
  | 'payment_required'
  | 'unavailable';

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    /** `extensions`: extra members of the problem+json answer (RFC 9457), e.g. the plan to upgrade to. */
    readonly details: { errors?: FieldError[]; retryAfterSeconds?: number; extensions?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static notFound(entity: string): DomainError {
    return new DomainError(`${entity}.not_found`, 'not_found', `${capitalise(entity.replace(/_/g, ' '))} not found`);
  }

  static invalid(code: string, message: string, errors?: FieldError[]): DomainError {
    return new DomainError(code, 'invalid', message, errors ? { errors } : {});
  }

  static conflict(code: string, message: string): DomainError {
    return new DomainError(code, 'conflict', message);
  }

  static forbidden(code: string, message: string): DomainError {
    return new DomainError(code, 'forbidden', message);
  }

  static unauthenticated(code: string, message: string): DomainError {
    return new DomainError(code, 'unauthenticated', message);
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
