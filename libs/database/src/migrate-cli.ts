import { ConfigError, loadConfig } from '#config';
import { migrate } from './migrate.js';

// `npm run migrate`: create the database if needed and apply pending migrations (the apps also do this at start).
async function main(): Promise<void> {
  const applied = await migrate(loadConfig());
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date');
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
});
