import type { Logger } from 'pino';

/**
 * Stops the process on SIGTERM or SIGINT: runs `close`, then exits 0, or 1 when closing fails or takes
 * longer than `timeoutMs`; a second signal exits at once. Our own handlers rather than Nest's
 * enableShutdownHooks(), which re-raises the signal: a clean stop exits 0, so supervisors do not
 * report a crash.
 */
export function exitOnStopSignals(logger: Logger, what: string, close: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${what} stopping`);
    setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, timeoutMs).unref();
    close().then(
      () => {
        logger.info(`${what} stopped`);
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
