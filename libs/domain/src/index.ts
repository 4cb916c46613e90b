export * from './domain-error.js';
export * from './ids.js';
export * from './enums.js';
export * from './permissions.js';
export * from './message-status.js';
export * from './cursor.js';
export * from './reachability.js';
export * from './events.js';
