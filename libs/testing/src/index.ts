export * from './test-database.js';
export * from './api-harness.js';
export * from './fixtures.js';
export * from './simulator-harness.js';
export * from './worker-harness.js';
export * from './api-process.js';
export * from './migration-database.js';
