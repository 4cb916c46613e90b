import pg from 'pg';
import type { FerryConfig } from '#config';
import { createOwnerDataSource } from './data-source.js';

/** Creates the configured database when it does not exist yet (a fresh machine, a new test worker). */
export async function ensureDatabase(databaseUrl: string, template?: string): Promise<boolean> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    const from = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : '';
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${from}`);
    } catch (error) {
      // Two processes starting at once: the other one created it.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Creates the database if needed and applies pending migrations; returns the names applied. */
export async function migrate(config: FerryConfig): Promise<string[]> {
  await ensureDatabase(config.database.url);
  // Serialise concurrent starters (API and worker booting together) on one advisory lock.
  const lock = new pg.Client({ connectionString: config.database.url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(7261100)');
    const source = createOwnerDataSource(config);
    await source.initialize();
    try {
      const applied = await source.runMigrations({ transaction: 'all' });
      return applied.map((m) => m.name);
    } finally {
      await source.destroy();
    }
  } finally {
    await lock.end();
  }
}
