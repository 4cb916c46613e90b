import { DomainError } from '#domain';
import { JobRetryable } from '#queue';

/** A Stripe call from a request: Stripe unreachable or failing is a 503 the caller may retry. */
export async function fromRequest<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DomainError('billing.stripe_unavailable', 'unavailable', `Stripe could not be reached or refused the call: ${messageOf(error)}`);
  }
}

/** A Stripe call from a job: a failure is retried with backoff (Stripe's Retry-After honoured by the SDK's own retries). */
export async function fromJob<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new JobRetryable(`${what}: ${messageOf(error)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
