export * from './test-database.js';
export * from './api-harness.js';
export * from './fixtures.js';
