import { parseArgs } from 'node:util';
import { createLogger, exitOnStopSignals } from '#logging';
import { Simulator } from './simulator.js';

/**
 * The provider simulator as a process:
 *   node dist/apps/simulator/src/main.js --port 3900 --smtp-port 2525 [--host 0.0.0.0] [--log-level info]
 * It takes its settings from the command line, not the environment (only libs/config reads the
 * environment, and the simulator is no part of Ferry's configuration).
 */
const SHUTDOWN_TIMEOUT_MS = 10_000;

function port(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number (0-65535), got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3900' },
      'smtp-port': { type: 'string', default: '2525' },
      host: { type: 'string', default: '127.0.0.1' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  const logger = createLogger(values['log-level'], 'ferry-simulator');
  const simulator = new Simulator({ logger });
  const address = await simulator.listen({ port: port(values.port, 'port'), smtpPort: port(values['smtp-port'], 'smtp-port'), host: values.host });
  logger.info(address, 'simulator listening');

  exitOnStopSignals(logger, 'simulator', () => simulator.close(), SHUTDOWN_TIMEOUT_MS);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
