export * from './principal.js';
export * from './auth.service.js';
export * from './identity.module.js';
