import { loadConfig } from '#config';
import { migrate } from '#database';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { testDatabaseUrl } from './test-database.js';

/**
 * Migrates one template database per run; each Vitest worker then clones it (see testConfig), so
 * the schema is built once and workers never share rows. Databases are named after this run's
 * process id, so runs side by side (two developers' shells on one machine) never touch each other.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = `ferry_t${process.pid}`;
  const base = loadConfig();
  await dropDatabases(base.database.url, (name) => {
    const pid = Number(/^ferry_t(\d+)_/.exec(name)?.[1]);
    return !Number.isInteger(pid) || !alive(pid);
  });
  const template = `${run}_template`;
  await migrate(loadConfig({ DATABASE_URL: testDatabaseUrl(base.database.url, template) }));
  project.provide('ferryTestRun', run);
  return () => dropDatabases(base.database.url, (name) => name.startsWith(`${run}_`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function dropDatabases(baseUrl: string, shouldDrop: (name: string) => boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl(baseUrl, 'postgres') });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'ferry\\_t%'`);
    for (const { datname } of rows.filter((row) => shouldDrop(row.datname))) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    ferryTestRun: string;
  }
}
