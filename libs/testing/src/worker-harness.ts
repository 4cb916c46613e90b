import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { type FerryConfig, loadConfig } from '#config';
import { Consumers } from '../../../apps/worker/src/consumers.js';
import { createLogger } from '../../../apps/worker/src/logger.js';
import { OutboxRelay } from '../../../apps/worker/src/outbox-relay.js';
import { createWorker, type WorkerOptions } from '../../../apps/worker/src/worker.js';
import { ApiHarness } from './api-harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKER_MAIN = join(ROOT, 'apps/worker/src/main.ts');
const SOURCE_LOADER = new URL('./source-loader.mjs', import.meta.url).href;
/** How long a worker process may take to boot (compiling the sources on the fly included). */
const BOOT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/** A port free right now on 127.0.0.1 (the OS picks it; nothing holds it afterwards). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The API on a port chosen before it starts, with PUBLIC_URL naming that port: the address providers
 * call back (receipts, Twilio's StatusCallback) and sign (X-Twilio-Signature covers the full URL), so
 * it must be known to the API and the worker before either runs. Another process taking the port in
 * the moment between the pick and the listen is retried with another port.
 */
export async function startReachableApi(overrides: Record<string, string> = {}): Promise<ApiHarness> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await ApiHarness.start({ ...overrides, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3) throw error;
    }
  }
}

/** The worker in this process, as main() runs it: consumers and outbox relay started. Close it with `.close()`. */
export async function startWorker(config: FerryConfig, options: WorkerOptions = {}): Promise<INestApplicationContext> {
  const worker = await createWorker(config, createLogger(config.log.level), options);
  worker.get(Consumers).start();
  worker.get(OutboxRelay).start();
  return worker;
}

/**
 * The environment that makes loadConfig() answer `config` again: what a worker process started by a
 * test needs to run against the test's database, Redis and timings. Checked by WorkerProcess (a
 * setting added to FerryConfig but not here fails loudly instead of being silently dropped).
 */
export function configEnv(config: FerryConfig): Record<string, string> {
  const { http, database, redis, auth, outbox, worker, delivery, webhooks, smtp } = config;
  return {
    PORT: String(http.port),
    HOST: http.host,
    PUBLIC_URL: http.publicUrl,
    BODY_LIMIT_BYTES: String(http.bodyLimitBytes),
    DATABASE_URL: database.url,
    DATABASE_APP_URL: database.appUrl,
    DATABASE_POOL_SIZE: String(database.poolSize),
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.keyPrefix,
    APP_SECRET: auth.appSecret,
    ACCESS_TOKEN_TTL_SECONDS: String(auth.accessTokenTtlSeconds),
    REFRESH_TOKEN_TTL_SECONDS: String(auth.refreshTokenTtlSeconds),
    INVITATION_TTL_SECONDS: String(auth.invitationTtlSeconds),
    LOGIN_MAX_ATTEMPTS: String(auth.loginMaxAttempts),
    LOGIN_WINDOW_SECONDS: String(auth.loginWindowSeconds),
    RATE_LIMIT_PER_MINUTE: String(config.rateLimit.perMinute),
    OUTBOX_RELAY_INTERVAL_MS: String(outbox.relayIntervalMs),
    OUTBOX_RELAY_GRACE_MS: String(outbox.relayGraceMs),
    OUTBOX_STALLED_AFTER_MS: String(outbox.stalledAfterMs),
    OUTBOX_RETENTION_MS: String(outbox.retentionMs),
    OUTBOX_PRUNE_INTERVAL_MS: String(outbox.pruneIntervalMs),
    OUTBOX_PRUNE_BATCH: String(outbox.pruneBatch),
    WORKER_CONCURRENCY_INBOUND: String(worker.concurrency.inbound),
    WORKER_CONCURRENCY_OUTBOUND: String(worker.concurrency.outbound),
    WORKER_CONCURRENCY_STATUS: String(worker.concurrency.status),
    WORKER_CONCURRENCY_EVENTS: String(worker.concurrency.events),
    WORKER_CONCURRENCY_WEBHOOKS: String(worker.concurrency.webhooks),
    WORKER_CONCURRENCY_BILLING: String(worker.concurrency.billing),
    WORKER_LOCK_DURATION_MS: String(worker.lockDurationMs),
    DELIVERY_TIMEOUT_MS: String(delivery.timeoutMs),
    DELIVERY_IN_DOUBT_GRACE_MS: String(delivery.inDoubtGraceMs),
    FALLBACK_DELIVERY_DEADLINE_MS: String(delivery.fallbackDeadlineMs),
    WHATSAPP_PAIR_INTERVAL_MS: String(delivery.whatsappPairIntervalMs),
    WEBHOOK_TIMEOUT_MS: String(webhooks.timeoutMs),
    WEBHOOK_RETRY_SCALE: String(webhooks.retryScale),
    WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: String(webhooks.maxInFlightPerEndpoint),
    SMTP_PORT: String(smtp.port),
    SMTP_HOST: smtp.host,
    LOG_LEVEL: config.log.level,
    ALLOW_PRIVATE_URLS: String(config.allowPrivateUrls),
    ...billingEnv(config),
  };
}

function billingEnv({ billing }: FerryConfig): Record<string, string> {
  const { stripe } = billing;
  return {
    BILLING_PLANS: JSON.stringify(billing.plans),
    BILLING_PAST_DUE_GRACE_SECONDS: String(billing.pastDueGraceMs / 1000),
    BILLING_SEATS_SYNC_INTERVAL_MS: String(billing.seatsSyncIntervalMs),
    BILLING_USAGE_REPORT_WINDOW_MS: String(billing.usageReportWindowMs),
    ...(stripe && {
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_URL: stripe.apiUrl ?? '',
      STRIPE_PRICE_TEAM: stripe.prices.team,
      STRIPE_PRICE_BUSINESS: stripe.prices.business,
      STRIPE_METER_EVENT: stripe.meterEvent,
    }),
  };
}

/**
 * A real worker process (apps/worker/src/main.ts, the production entry point) that a test can kill
 * with SIGKILL and start again, to prove that a crash at any moment loses and doubles nothing.
 *
 * It runs the TypeScript sources directly: Node's module hooks (source-loader.mjs) compile each file
 * with SWC as Vitest does, so there is no build step, no dist/ shared with other runs, and the process
 * runs exactly the code under test. It boots in a second or two. Its log (pino JSON at level `info`,
 * whatever the test's config says) goes to `logFile`; readiness is its "worker started" line.
 */
export class WorkerProcess {
  /** Every process started so far, the running one last. */
  readonly pids: number[] = [];
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;

  private constructor(
    private readonly env: Record<string, string>,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  static async start(config: FerryConfig, options: { logLevel?: string; logFile?: string } = {}): Promise<WorkerProcess> {
    const env = { ...configEnv(config), LOG_LEVEL: options.logLevel ?? 'info' };
    if (!isDeepStrictEqual(loadConfig(env, {}), { ...config, log: { level: env.LOG_LEVEL } })) {
      throw new Error('configEnv() does not reproduce the config: a FerryConfig setting is missing from it');
    }
    const logFile = options.logFile ?? join(mkdtempSync(join(tmpdir(), 'ferry-worker-')), 'worker.log');
    const worker = new WorkerProcess(env, logFile);
    await worker.restart();
    return worker;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts a new process (the previous one must be gone) and waits until it consumes its queues. */
  async restart(): Promise<void> {
    if (this.running) throw new Error('the worker process is still running');
    const child = spawn(process.execPath, ['--conditions=ferry-source', '--import', registerHooks(), WORKER_MAIN], {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    child.stderr?.pipe(this.log, { end: false });
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start within ${BOOT_TIMEOUT_MS} ms${this.tail()}`)), BOOT_TIMEOUT_MS);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited while starting (${signal ?? code})${this.tail()}`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        this.log.write(`${line}\n`);
        if (line.includes('"msg":"worker started"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await started;
  }

  /** Kills the process the way a crash or the OOM killer would: no shutdown, nothing flushed. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** A clean stop (SIGTERM: active jobs finish), then SIGKILL if it hangs. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  private tail(): string {
    try {
      return `; log ${this.logFile}:\n${readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n')}`;
    } catch {
      return '';
    }
  }
}

/** `--import` argument that registers the TypeScript source hooks in the child. */
export function registerHooks(): string {
  const code = `import { register } from 'node:module'; register(${JSON.stringify(SOURCE_LOADER)});`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
}

/**
 * A redis-server of the test's own (the shared one on 6379 is not ours to stop), without persistence:
 * stopped and started again, it comes back empty, as a Redis that crashed or was replaced does.
 */
export class RedisProcess {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port) and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) throw new Error('redis-server is still running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${output}`));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** Stops the server (SIGTERM; with nothing to save it exits at once). Everything in it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
