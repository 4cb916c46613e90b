import { createLogger as createServiceLogger } from '#logging';
import type { Logger } from 'pino';

/** The worker's pino logger, injectable where the relay, the consumers and the SMTP listener log. */
export const WORKER_LOGGER = Symbol('WORKER_LOGGER');

export function createLogger(level: string, name = 'ferry-worker'): Logger {
  return createServiceLogger(level, name);
}
