import type { Stripe } from 'stripe';
import type { StripeSettings } from '#config';

/** The Stripe client, injectable (tests and the demo point it at the simulator through STRIPE_API_URL). */
export const STRIPE = Symbol('STRIPE');

/**
 * The API version this SDK release (stripe@23.1.0) was generated for: pinned, so a Stripe account's
 * default version never changes the shape of what Ferry reads. Upgrade it with the SDK, deliberately.
 */
export const STRIPE_API_VERSION = '2026-10-28.endive';

/** Loaded only when billing is on: the SDK is large, and a self-hosted worker restarts faster without it. */
export async function createStripe(settings: StripeSettings): Promise<Stripe> {
  const { Stripe: StripeClient } = await import('stripe');
  const target = settings.apiUrl ? new URL(settings.apiUrl) : null;
  return new StripeClient(settings.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 2,
    timeout: 20_000,
    ...(target && {
      host: target.hostname,
      port: target.port || (target.protocol === 'https:' ? 443 : 80),
      protocol: target.protocol === 'https:' ? 'https' : 'http',
    }),
    appInfo: { name: 'Ferry' },
  });
}
