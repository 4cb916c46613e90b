import { loadConfig } from '#config';
import { migrate } from '#database';
import pg from 'pg';
import { TEMPLATE_DATABASE, testDatabaseUrl } from './test-database.js';

/**
 * Migrates one template database per run; each Vitest worker then clones it (see testConfig), so
 * the schema is built once and workers never share rows.
 */
export default async function setup(): Promise<void> {
  const base = loadConfig();
  const url = testDatabaseUrl(base.database.url, TEMPLATE_DATABASE);
  const admin = new pg.Client({ connectionString: testDatabaseUrl(base.database.url, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE 'ferry_test%' AND pid <> pg_backend_pid()`);
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'ferry_test%'`);
    for (const { datname } of rows) await admin.query(`DROP DATABASE ${pg.escapeIdentifier(datname)}`);
  } finally {
    await admin.end();
  }
  await migrate(loadConfig({ DATABASE_URL: url }));
}
