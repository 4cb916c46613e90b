export * from './data-source.js';
export * from './migrate.js';
export * from './tenant-db.js';
export * from './database.module.js';
export * from './entity-list.js';
export * from './secret-cipher.js';
export * from './group-commit.js';
export * from './turn-batch.js';
