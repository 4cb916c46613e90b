import { DomainError } from '#domain';
import { MIN_PASSWORD_LENGTH } from '../tokens/password.js';

/** Emails are one identity whatever their case: stored and compared lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The API validates this too; the lib keeps the rule for every other caller. */
export function assertAcceptablePassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw DomainError.invalid('request.invalid', 'The request has invalid fields', [
      { field: 'password', message: `password must be at least ${MIN_PASSWORD_LENGTH} characters` },
    ]);
  }
}

export function invalidCredentials(): DomainError {
  return DomainError.unauthenticated('auth.invalid_credentials', 'The email or password is wrong');
}

export function emailTaken(): DomainError {
  return DomainError.conflict('auth.email_taken', 'An account with this email exists; log in instead');
}

/** A Postgres unique violation (23505) on `constraint`, as TypeORM reports it. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
  return driverError?.code === '23505' && driverError.constraint === constraint;
}
