export * from './address-policy.js';
export * from './outbound-guard.js';
export * from './standard-webhooks.js';
