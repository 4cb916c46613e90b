import pg from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';
import { inject } from 'vitest';
import type { FerryConfig } from '#config';
import { createOwnerDataSource, ensureDatabase } from '#database';
import { testConfig } from './test-database.js';

/** A database of a test's own, for a migration taken down and up: its config, an owner client, and the step runner. */
export interface MigrationDatabase {
  config: FerryConfig;
  owner: pg.Client;
  /** Runs one step of `migration` in a transaction of its own, as the migration runner does. */
  run(migration: MigrationInterface, step: 'up' | 'down'): Promise<void>;
  close(): Promise<void>;
}

/**
 * Clones the migrated template into a database named after this worker's with `suffix`, so the run's
 * teardown drops it with the rest. Call it from beforeAll, and close() from afterAll.
 */
export async function migrationDatabase(suffix: string): Promise<MigrationDatabase> {
  const url = new URL((await testConfig()).database.url);
  url.pathname = `${url.pathname}_${suffix}`;
  await ensureDatabase(url.toString(), `${inject('ferryTestRun')}_template`);
  const config = await testConfig({ DATABASE_URL: url.toString() });
  const owner = new pg.Client({ connectionString: config.database.url });
  await owner.connect();
  const source: DataSource = await createOwnerDataSource(config).initialize();
  return {
    config,
    owner,
    async run(migration, step) {
      const runner = source.createQueryRunner();
      try {
        await runner.startTransaction();
        await migration[step](runner);
        await runner.commitTransaction();
      } finally {
        await runner.release();
      }
    },
    async close() {
      await source.destroy();
      await owner.end();
    },
  };
}
