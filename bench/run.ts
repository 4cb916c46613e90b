import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync, closeSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FerryConfig } from '#config';
import { apiChildEnv, BENCH_REDIS_PREFIX, benchConfig, benchReuse, benchScale } from './bench-env.js';
import type { FromLoad, LoadPlan, LoadResult, ToLoad } from './protocol.js';
import { freePort } from './delivery-processes.js';
import { renderTable, type ScenarioResult } from './report.js';
import { buildScenarios, type Scenario } from './scenarios.js';
import { reuseBenchDatabase, seedBenchDatabase, type SeededWorkspace } from './seed.js';
import { clearRedisKeys } from './measure.js';

/**
 * `npm run bench`: seeds the bench database, starts the API and a bare Fastify server as child
 * processes, drives each scenario from a separate load-generator process, and prints the table.
 * Benchmarks never fail on a time: they report.
 *
 * Knobs (environment): BENCH_SCALE=0.01 seeds 1% of the data for a quick run; BENCH_REUSE=1 skips
 * the seed and reuses the last run's database. DATABASE_URL and REDIS_URL say where the servers
 * are; the bench uses its own database (ferry_bench) and Redis prefix (ferry-bench) beside them.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = `${ROOT}bench/results`;
const FULL_CONVERSATIONS = 100_000;
const LOAD = {
  warmup: { concurrency: 4, durationSeconds: 2 },
  open: { rate: 200, durationSeconds: 10 },
  closed: { concurrency: 16, durationSeconds: 5 },
  timeoutMs: 10_000,
};
const SEED_TARGET_SECONDS = 180;

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

async function main(): Promise<void> {
  const scale = benchScale();
  const conversations = Math.max(100, Math.round(FULL_CONVERSATIONS * scale));
  mkdirSync(RESULTS, { recursive: true });
  const config = benchConfig(await freePort());
  const children: ChildProcess[] = [];
  try {
    await clearRedisKeys(config.redis.url, `${BENCH_REDIS_PREFIX}:*`);
    const database = new URL(config.database.url).pathname.slice(1);
    let seed: SeededWorkspace;
    if (benchReuse()) {
      seed = await reuseBenchDatabase(config);
      log(`reusing ${database}: ${seed.conversations} conversations`);
    } else {
      log(`seeding ${conversations} conversations (scale ${scale}) into ${database}`);
      seed = await seedBenchDatabase(config, conversations);
      log(`seeded in ${seed.seconds.toFixed(1)} s`);
    }

    const bare = await startBare(children);
    const api = await startApi(config, children);
    const scenarios = await buildScenarios(config, seed.workspaceId, seed.conversations);
    const load = fork(fileURLToPath(new URL('./load.js', import.meta.url)), [], { stdio: 'inherit' });
    children.push(load);

    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      if (api.exited) throw new Error(`the API exited (${api.exited}) during the run: see bench/results/api.log`);
      log(`running ${scenario.name}`);
      const baseUrl = scenario.server === 'bare' ? bare : api.baseUrl;
      const result = await runScenario(load, scenario, baseUrl, seed.apiKey);
      results.push({ scenario: scenario.name, p99TargetMs: scenario.p99TargetMs ?? null, ...result });
    }

    const report = { seed: seedSummary(seed), results, scale, load: LOAD };
    process.stdout.write(`${renderTable(report.seed, results, LOAD)}\n`);
    writeFileSync(
      `${RESULTS}/latest.json`,
      `${JSON.stringify({ at: new Date().toISOString(), machine: machine(), ...report }, null, 2)}\n`,
    );
    log(`wrote bench/results/latest.json (API log: bench/results/api.log)`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    await clearRedisKeys(config.redis.url, `${BENCH_REDIS_PREFIX}:*`).catch(() => undefined);
  }
}

function seedSummary(seed: SeededWorkspace): {
  conversations: number;
  messages: number;
  seconds: number;
  targetSeconds: number;
  steps: string[];
} {
  return {
    conversations: seed.conversations,
    messages: seed.messages,
    seconds: Number(seed.seconds.toFixed(1)),
    targetSeconds: SEED_TARGET_SECONDS,
    steps: seed.steps,
  };
}

function machine(): { cpus: number; cpu: string; node: string } {
  return { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
}

function runScenario(load: ChildProcess, scenario: Scenario, baseUrl: string, apiKey: string): Promise<LoadResult> {
  const plan: LoadPlan = {
    baseUrl,
    headers: scenario.server === 'api' ? { authorization: `Bearer ${apiKey}` } : {},
    requests: scenario.requests,
    ...LOAD,
  };
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromLoad): void => {
      load.off('exit', onExit);
      load.off('message', onMessage);
      if (message.type === 'result') resolve(message.result);
      else reject(new Error(`load generator failed: ${message.message}`));
    };
    const onExit = (code: number | null): void => reject(new Error(`load generator exited (${code})`));
    load.on('message', onMessage);
    load.once('exit', onExit);
    load.send({ type: 'run', plan } satisfies ToLoad);
  });
}

async function startBare(children: ChildProcess[]): Promise<string> {
  const child = fork(fileURLToPath(new URL('./bare-server.js', import.meta.url)), ['0'], { stdio: 'inherit' });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { type: string; port: number }) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
  });
  return `http://127.0.0.1:${port}`;
}

interface RunningApi {
  baseUrl: string;
  /** How the API ended, when it has: its exit code or the signal that stopped it. */
  readonly exited: string | undefined;
}

async function startApi(config: FerryConfig, children: ChildProcess[]): Promise<RunningApi> {
  const logFile = openSync(`${RESULTS}/api.log`, 'w');
  const child = spawn(process.execPath, [`${ROOT}dist/apps/api/src/main.js`], {
    cwd: ROOT,
    env: apiChildEnv(config),
    stdio: ['ignore', logFile, logFile],
  });
  closeSync(logFile);
  children.push(child);
  const baseUrl = `http://127.0.0.1:${config.http.port}`;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? `code ${code}`;
    if (!child.killed) log(`the API exited (${exited})`);
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`the API exited (${exited}) while starting: see bench/results/api.log`);
    try {
      const response = await fetch(`${baseUrl}/health/live`);
      if (response.ok) {
        return {
          baseUrl,
          get exited() {
            return exited;
          },
        };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the API did not answer /health/live within 60 s: see bench/results/api.log');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}



main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
