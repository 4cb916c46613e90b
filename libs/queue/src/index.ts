export * from './job-catalogue.js';
export * from './job-handlers.js';
export * from './backoff.js';
export * from './redis.js';
export * from './queues.js';
export * from './outbox.js';
export * from './queue.module.js';
