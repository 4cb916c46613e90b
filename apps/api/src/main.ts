import { ConfigError, loadConfig } from '#config';
import { migrate } from '#database';
import { createApi } from './bootstrap.js';

async function main(): Promise<void> {
  const config = loadConfig();
  await migrate(config);
  const app = await createApi(config);
  await app.listen({ port: config.http.port, host: config.http.host });
}

main().catch((error: unknown) => {
  // Configuration errors name the variable; print them plainly and stop.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
