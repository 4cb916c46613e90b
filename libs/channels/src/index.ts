export * from './channel-adapter.js';
export * from './config/config-schema.js';
export * from './config/public-address.js';
export * from './config/channel-configs.js';
export * from './config/config-secrets.js';
