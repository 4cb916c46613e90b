export * from './messaging.module.js';
export * from './inboxes/inboxes.repository.js';
