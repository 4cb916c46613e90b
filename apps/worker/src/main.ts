import { ConfigError, loadConfig } from '#config';
import { migrate } from '#database';
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

  // Our own handlers rather than Nest's enableShutdownHooks(), which re-raises the signal: a clean
  // stop should exit 0 so supervisors do not report a crash.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'worker stopping');
    setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    worker.close().then(
      () => {
        logger.info('worker stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown).on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  // Configuration errors name the variable; print them plainly and stop.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
