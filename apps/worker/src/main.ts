import { ConfigError, loadConfig } from '#config';
import { migrate } from '#database';
import { exitOnStopSignals } from '#logging';
import { createLogger } from './logger.js';
import { Consumers } from './consumers.js';
import { CONSUMED_QUEUES } from './job-registry.js';
import { OutboxRelay } from './outbox-relay.js';
import { SmtpListener } from './smtp-listener.js';
import { createWorker } from './worker.js';

/** Shutdown gives up and exits non-zero if closing takes longer than this. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.log.level);
  await migrate(config);
  const worker = await createWorker(config, logger);
  worker.get(Consumers).start();
  worker.get(OutboxRelay).start();
  await worker.get(SmtpListener).start();
  logger.info(
    { consumedQueues: CONSUMED_QUEUES, concurrency: config.worker.concurrency, relayIntervalMs: config.outbox.relayIntervalMs },
    'worker started',
  );

  exitOnStopSignals(logger, 'worker', () => worker.close(), SHUTDOWN_TIMEOUT_MS);
}

main().catch((error: unknown) => {
  // Configuration errors name the variable; print them plainly and stop.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
