import { randomBytes } from 'node:crypto';
import { loadConfig, type FerryConfig } from '#config';

/**
 * The benchmark is a developer tool, not part of the running product, so it reads its own knobs
 * here (BENCH_SCALE) and hands the environment on to the processes it starts. The product's own
 * settings still come from loadConfig(): the bench database sits beside the configured one.
 */
// eslint-disable-next-line no-restricted-syntax -- a tool's knobs and its children's environment, see above
const ENV: Readonly<Record<string, string | undefined>> = process.env;

export const BENCH_DATABASE = 'ferry_bench';
export const BENCH_REDIS_PREFIX = 'ferry-bench';

export function benchScale(): number {
  const raw = ENV['BENCH_SCALE'];
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10) {
    throw new Error(`BENCH_SCALE must be a number in (0, 10], got "${raw}"`);
  }
  return scale;
}

/** BENCH_REUSE=1 skips the seed and runs against the bench database the last run left. */
export function benchReuse(): boolean {
  return ENV['BENCH_REUSE'] === '1' || ENV['BENCH_REUSE'] === 'true';
}

/** The configuration of the API under test: the bench database, its own Redis prefix, quiet logs. */
export function benchConfig(port = 0): FerryConfig {
  const base = loadConfig();
  const url = new URL(base.database.url);
  url.pathname = `/${BENCH_DATABASE}`;
  return loadConfig(benchOverrides(url.toString(), port));
}

function benchOverrides(databaseUrl: string, port: number): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    DATABASE_APP_URL: '',
    REDIS_PREFIX: BENCH_REDIS_PREFIX,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
}

/** The environment of the API child: ours, with the bench settings on top. */
export function apiChildEnv(config: FerryConfig): Record<string, string | undefined> {
  return { ...ENV, ...benchOverrides(config.database.url, config.http.port) };
}

export function childEnv(extra: Record<string, string>): Record<string, string | undefined> {
  return { ...ENV, ...extra };
}

/**
 * The environment of the processes a bench starts from the build (API, worker): a database and Redis
 * prefix of the bench's own beside the configured ones, the API on `port`, a fresh app secret, no
 * rate limit, quiet logs, Node's options as the image sets them; `extra` on top.
 */
export function processEnv(database: string, redisPrefix: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  const url = new URL(loadConfig().database.url);
  url.pathname = `/${database}`;
  return {
    DATABASE_URL: url.toString(),
    DATABASE_APP_URL: '',
    REDIS_PREFIX: redisPrefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    APP_SECRET: randomBytes(32).toString('base64url'),
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'warn',
    NODE_OPTIONS: '--max-semi-space-size=32',
    ...extra,
  };
}

/** `<flag> <name>` on the command line (`--tag run2`): a name of lowercase letters and digits, or undefined. */
export function argValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  const value = at >= 0 ? process.argv[at + 1] : undefined;
  if (at >= 0 && !/^[a-z0-9]+$/.test(value ?? '')) throw new Error(`${flag} takes a name of lowercase letters and digits`);
  return value;
}

/** `--profile`: the processes a bench starts write V8 CPU profiles into `dir` when they stop. */
export function profileArgs(dir: string): string[] {
  return process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
