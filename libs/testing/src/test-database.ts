import { loadConfig, testWorkerId, type FerryConfig } from '#config';
import { ensureDatabase } from '#database';
import { inject } from 'vitest';

export function testDatabaseUrl(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

let prepared: Promise<FerryConfig> | undefined;

/**
 * The configuration of this test worker: its own database cloned from the migrated template,
 * its own Redis key prefix, quiet logs. Call it from beforeAll; it is cheap after the first call.
 */
export function testConfig(overrides: Record<string, string> = {}): Promise<FerryConfig> {
  prepared ??= (async () => {
    const base = loadConfig();
    const worker = testWorkerId();
    const run = inject('ferryTestRun');
    const url = testDatabaseUrl(base.database.url, `${run}_w${worker}`);
    await ensureDatabase(url, `${run}_template`);
    return loadConfig({
      DATABASE_URL: url,
      DATABASE_APP_URL: '',
      REDIS_PREFIX: `ferry-test-${worker}-${process.pid}`,
      LOG_LEVEL: 'silent',
      DATABASE_POOL_SIZE: '5',
    });
  })();
  return prepared.then((config) => (Object.keys(overrides).length ? loadConfig({ ...flatten(config), ...overrides }) : config));
}

function flatten(config: FerryConfig): Record<string, string> {
  return {
    DATABASE_URL: config.database.url,
    DATABASE_APP_URL: '',
    REDIS_PREFIX: config.redis.keyPrefix,
    LOG_LEVEL: config.log.level,
    DATABASE_POOL_SIZE: String(config.database.poolSize),
  };
}
