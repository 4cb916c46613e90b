export * from './billing.ports.js';
export * from './billing.module.js';
export * from './plans.js';
export { STRIPE, STRIPE_API_VERSION } from './stripe-client.js';
