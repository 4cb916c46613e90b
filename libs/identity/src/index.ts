export * from './principal.js';
export * from './api-key-token.js';
export * from './auth.service.js';
export * from './identity.module.js';
