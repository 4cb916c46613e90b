import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '#config';
import { migrate } from '#database';
import { argValue, benchScale, childEnv, processEnv, profileArgs } from './bench-env.js';
import { type BaselineResult, bareBullmq } from './delivery-baselines.js';
import { drive, request, type Sent } from './delivery-load.js';
import { freePort, logLine, type Running, spawnNode, startNode, stop, waitForHttp } from './delivery-processes.js';
import { markdownTable } from './report.js';
import { dropDatabase, seedTenant } from './seed.js';
import { clearRedisKeys, cpuSeconds, percentile, serverCpuSeconds } from './measure.js';

/**
 * `npm run bench:fanout`: integrator webhooks fanned out at volume (issue 5, "Speed": 1,000 endpoints
 * on a local receiver, 10,000 events). Read as: 1,000 webhook endpoints, WORKSPACES workspaces with
 * ENDPOINTS_PER_WORKSPACE endpoints each, every one subscribed to contact.created and pointing at one
 * local HTTP receiver (its own process, plain http, so the API and worker run with
 * ALLOW_PRIVATE_URLS=true); 1,000 events produced through the real path (POST /v1/contacts through the
 * API: contact row and event in one transaction, event.dispatch through the outbox, the worker's
 * fan-out writes one delivery row and webhook.deliver job per endpoint, then signs and posts each),
 * spread evenly over the workspaces: 1,000 events x 10 endpoints each = 10,000 deliveries
 * (BENCH_SCALE scales the events). API and worker are processes from the build (dist/).
 * Measured: deliveries/s from the first event's commit to the last receipt, and p50/p99 of commit
 * (the envelope's createdAt, set in the writing transaction) -> receipt, beside the bare BullMQ
 * add+process rate of the same run for the same number of jobs. The events are posted as fast as
 * 32 clients can, so the latency includes the backlog a burst builds. Reports, never fails on a number.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = `${ROOT}bench/results`;
/** `--tag <name>`: a database and Redis prefix of its own, so two runs on one machine never meet. */
const TAG = argValue('--tag');
/** `--statements`: print the measured phase's top statements in the bench database (pg_stat_statements, dev machines). */
const STATEMENTS = process.argv.includes('--statements');
/**
 * `--drain`: one more phase in which the worker is stopped (SIGSTOP) while the events are posted and
 * resumed once they are all in: deliveries/s from the resume to the last receipt is what the delivery
 * side does on its own, without the API's intake setting the pace.
 */
const DRAIN = process.argv.includes('--drain');
/** `--profile`: the API and the worker write V8 CPU profiles into bench/results/profiles when they stop. */
const NODE_ARGS = profileArgs(`${RESULTS}/profiles`);
const DATABASE = TAG ? `ferry_bench_${TAG}_fanout` : 'ferry_bench_fanout';
const REDIS_PREFIX = TAG ? `ferry-bench-${TAG}-fanout` : 'ferry-bench-fanout';
const WORKSPACES = 100;
const ENDPOINTS_PER_WORKSPACE = 10;
const EVENTS = Math.max(WORKSPACES, Math.round(1000 * benchScale()));
const CLIENTS = 32;
/**
 * Enough for the API's and the worker's hot paths to be compiled: after 300 events, V8's optimising
 * compiler threads still took about 13% of the machine's CPU through the measured phase (perf).
 */
const WARM_UP_EVENTS = 15 * WORKSPACES;
const TARGET_PER_SECOND = 2000;
const WAIT_MS = 300_000;

const STARTED = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench:fanout +${Math.round((Date.now() - STARTED) / 1000)}s] ${line}\n`);

interface Workspace {
  workspaceId: string;
  apiKey: string;
}

interface FanoutResult {
  events: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  deliveriesPerSecond: number;
  commitToReceipt: Percentiles;
  answerToReceipt: Percentiles;
  /** From the first POST to the last 2xx: how fast the API took the events in. */
  eventsPostedPerSecond: number;
  seconds: number;
  cpuSeconds: Record<string, number>;
  /** PostgreSQL transactions committed in the bench database per delivery. */
  transactionsPerDelivery: number;
}

interface Percentiles {
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const [port, receiverPort] = [await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${port}`;
  const receiverUrl = `http://127.0.0.1:${receiverPort}`;
  // The receiver is on 127.0.0.1 over plain http.
  const env = processEnv(DATABASE, REDIS_PREFIX, port, { ALLOW_PRIVATE_URLS: 'true' });
  const config = loadConfig(env);
  const children: Running[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const owner = new pg.Client({ connectionString: config.database.url, application_name: 'ferry-bench-fanout' });
  try {
    await clearRedisKeys(config.redis.url, `${REDIS_PREFIX}*`);
    log(`fresh database ${DATABASE}; receiver, API and worker from dist/`);
    await dropDatabase(config.database.url);
    await migrate(config);
    await owner.connect();
    const workspaces: Workspace[] = [];
    for (let w = 0; w < WORKSPACES; w++) workspaces.push(await seedTenant(owner));

    const receiver = await startNode('receiver', `${ROOT}dist/bench/fanout-receiver.js`, [String(receiverPort)], {
      cwd: ROOT,
      env: childEnv({}),
      logFile: `${RESULTS}/fanout-receiver.log`,
      ready: (line) => (logLine(line)?.['msg'] === 'receiver listening' ? true : undefined),
    });
    children.push(receiver.running);
    const api = spawnNode('api', `${ROOT}dist/apps/api/src/main.js`, [], { cwd: ROOT, env: childEnv(env), logFile: `${RESULTS}/fanout-api.log`, nodeArgs: NODE_ARGS });
    children.push(api.running);
    await waitForHttp(`${apiUrl}/health/live`, api.running);
    const worker = await startNode('worker', `${ROOT}dist/apps/worker/src/main.js`, [], {
      cwd: ROOT,
      env: childEnv({ ...env, LOG_LEVEL: 'info' }),
      logFile: `${RESULTS}/fanout-worker.log`,
      nodeArgs: NODE_ARGS,
      ready: (line) => (logLine(line)?.['msg'] === 'worker started' ? true : undefined),
    });
    children.push(worker.running);

    log(`${WORKSPACES * ENDPOINTS_PER_WORKSPACE} endpoints through POST /v1/webhook-endpoints, each subscribed to contact.created`);
    const endpoints = await drive({ kind: 'clients', clients: 16, count: WORKSPACES * ENDPOINTS_PER_WORKSPACE }, async (i) => {
      const w = Math.floor(i / ENDPOINTS_PER_WORKSPACE);
      const created = await request(agent, `${apiUrl}/v1/webhook-endpoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${workspaces[w]!.apiKey}` },
        body: JSON.stringify({ url: `${receiverUrl}/w${w}/e${i % ENDPOINTS_PER_WORKSPACE}`, events: ['contact.created'] }),
      });
      if (created.status !== 201) throw new Error(`creating an endpoint answered ${created.status}: ${created.body.slice(0, 200)}`);
      return String(i);
    });
    if (endpoints.failures.length > 0) throw new Error(`${endpoints.failures.length} endpoints not created, e.g. ${endpoints.failures[0]}`);

    log(`baseline: bare BullMQ add+process of ${EVENTS * ENDPOINTS_PER_WORKSPACE} no-op jobs`);
    const bullmq = await bareBullmq(config.redis.url, `${REDIS_PREFIX}-bare`, EVENTS * ENDPOINTS_PER_WORKSPACE);

    const contact = (label: string) => async (i: number): Promise<string> => {
      const workspace = workspaces[i % WORKSPACES]!;
      const answer = await request(agent, `${apiUrl}/v1/contacts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${workspace.apiKey}` },
        body: JSON.stringify({ name: `Fanout ${label} ${i}` }),
      });
      if (answer.status !== 201) throw new Error(`POST /v1/contacts answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      return (JSON.parse(answer.body) as { id: string }).id;
    };
    const cpu = (): Record<string, number> => ({ ...cpuSeconds(children), ...serverCpuSeconds(DATABASE) });
    const commits = async (): Promise<number> => {
      await new Promise((resolve) => setTimeout(resolve, 1200)); // pg_stat_database is flushed within a second of going idle
      const { rows } = await owner.query<{ n: number }>(`SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()`);
      return rows[0]?.n ?? 0;
    };
    const phase = async (label: string, events: number, drain = false): Promise<FanoutResult> => {
      await request(agent, `${receiverUrl}/_reset`, { method: 'POST' });
      if (drain) worker.running.child.kill('SIGSTOP');
      let commits0 = await commits();
      let cpu0 = cpu();
      const { sent, failures } = await drive({ kind: 'clients', clients: CLIENTS, count: events }, contact(label));
      if (failures.length > 0) log(`${failures.length} events not posted, e.g. ${failures[0]}`);
      let resumedAt: number | undefined;
      if (drain) {
        await new Promise((resolve) => setTimeout(resolve, 1500)); // the API's after-commit publishes
        [commits0, cpu0] = [await commits(), cpu()];
        resumedAt = Date.now();
        worker.running.child.kill('SIGCONT');
      }
      const expected = sent.length * ENDPOINTS_PER_WORKSPACE;
      const deadline = Date.now() + WAIT_MS;
      let count = 0;
      let lastChange = Date.now();
      for (;;) {
        const now = (JSON.parse((await request(agent, `${receiverUrl}/_count`)).body) as { distinct: number }).distinct;
        if (now !== count) [count, lastChange] = [now, Date.now()];
        if (count >= expected || Date.now() > deadline) break;
        // Nothing new for 30 s: what is missing is not coming (retries are minutes apart).
        if (Date.now() - lastChange > 30_000) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      log(`${label}: ${count} of ${expected} deliveries received`);
      await new Promise((resolve) => setTimeout(resolve, 500)); // late duplicates
      const cpu1 = cpu();
      const receipts = JSON.parse((await request(agent, `${receiverUrl}/_receipts`)).body) as Array<[string, string, number, number, string]>;
      const result = measure(sent, expected, receipts, cpu0, cpu1, resumedAt);
      const transactions = (await commits()) - commits0 - 1; // less the reading of commits0 itself
      result.transactionsPerDelivery = result.delivered > 0 ? Number((transactions / result.delivered).toFixed(2)) : 0;
      return result;
    };

    // As a server that has run for a while: its hot paths compiled before anything is measured.
    log(`warm-up (not measured): ${WARM_UP_EVENTS} events`);
    await phase('warm-up', WARM_UP_EVENTS);
    // Autovacuum is off on these machines: without statistics the planner guesses on the warmed-up tables.
    await owner.query('ANALYZE');
    log(`measured: ${EVENTS} events x ${ENDPOINTS_PER_WORKSPACE} endpoints = ${EVENTS * ENDPOINTS_PER_WORKSPACE} deliveries`);
    // The extension lives in the server's `postgres` database; its view covers every database.
    const statsUrl = new URL(config.database.url);
    statsUrl.pathname = '/postgres';
    const stats = STATEMENTS ? new pg.Client({ connectionString: statsUrl.toString() }) : null;
    await stats?.connect();
    await stats?.query(`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)`, [DATABASE]);
    const result = await phase('measured', EVENTS);
    const drained = DRAIN ? await phase('drain', EVENTS, true) : undefined;
    if (stats) {
      const { rows } = await stats.query<{ calls: string; exec_ms: string; per_delivery: string; q: string }>(
        `SELECT calls, round(total_exec_time::numeric) exec_ms, round(calls::numeric / $1, 2) per_delivery, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) q
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $2) ORDER BY total_exec_time DESC LIMIT 25`,
        [Math.max(1, result.delivered), DATABASE],
      );
      await stats.end();
      process.stdout.write(`${markdownTable(['calls', 'exec ms', 'per delivery', 'statement'], rows.map((r) => [String(r.calls), String(r.exec_ms), String(r.per_delivery), String(r.q)]))}

`);
    }
    for (const child of children) if (child.exited) throw new Error(`${child.name} exited (${child.exited}) during the run: see bench/results/fanout-${child.name}.log`);
    process.stdout.write(`${renderTable(result, bullmq, drained)}\n`);
    writeFileSync(
      `${RESULTS}/fanout.json`,
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          workspaces: WORKSPACES,
          endpointsPerWorkspace: ENDPOINTS_PER_WORKSPACE,
          machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
          result,
          drained,
          baseline: { bullmq },
          targetDeliveriesPerSecond: TARGET_PER_SECOND,
        },
        null,
        2,
      )}\n`,
    );
    log('wrote bench/results/fanout.json (logs: bench/results/fanout-*.log)');
  } finally {
    agent.destroy();
    await owner.end().catch(() => undefined);
    for (const child of children.reverse()) await stop(child);
    await clearRedisKeys(config.redis.url, `${REDIS_PREFIX}*`).catch(() => undefined);
    await dropDatabase(config.database.url).catch(() => undefined);
  }
}

/** One phase's numbers from the receipts: the first receipt of each (webhook-id, endpoint) counts, later ones are duplicates. */
function measure(
  sent: Sent[],
  expected: number,
  receipts: Array<[string, string, number, number, string]>,
  cpu0: Record<string, number>,
  cpu1: Record<string, number>,
  /** The drain phase: the worker was resumed at this time (ms), counted from there. */
  resumedAt?: number,
): FanoutResult {
  const answeredAt = new Map(sent.map((s) => [s.key, s.answeredAt]));
  const seen = new Set<string>();
  const commitToReceipt: number[] = [];
  const answerToReceipt: number[] = [];
  let duplicates = 0;
  let firstCommit = Number.POSITIVE_INFINITY;
  let lastReceipt = 0;
  for (const [id, path, receivedAt, createdAt, key] of receipts) {
    // webhook-id is the event's id, the same at every endpoint: a delivery is (webhook-id, endpoint path).
    const delivery = `${id} ${path}`;
    if (seen.has(delivery)) {
      duplicates++;
      continue;
    }
    seen.add(delivery);
    lastReceipt = Math.max(lastReceipt, receivedAt);
    if (Number.isFinite(createdAt)) {
      firstCommit = Math.min(firstCommit, createdAt);
      commitToReceipt.push(Math.max(0, receivedAt - createdAt));
    }
    const answered = answeredAt.get(key);
    if (answered !== undefined) answerToReceipt.push(Math.max(0, receivedAt - answered));
  }
  const from = resumedAt ?? firstCommit;
  const seconds = lastReceipt > from ? (lastReceipt - from) / 1000 : 0;
  const firstSent = Math.min(...sent.map((s) => s.sentAt));
  const lastAnswer = Math.max(...sent.map((s) => s.answeredAt));
  return {
    events: sent.length,
    expected,
    delivered: seen.size,
    missing: Math.max(0, expected - seen.size),
    duplicates,
    deliveriesPerSecond: seconds > 0 ? Math.round(seen.size / seconds) : 0,
    commitToReceipt: percentiles(commitToReceipt),
    answerToReceipt: percentiles(answerToReceipt),
    eventsPostedPerSecond: lastAnswer > firstSent ? Math.round((sent.length * 1000) / (lastAnswer - firstSent)) : 0,
    seconds: Number(seconds.toFixed(2)),
    cpuSeconds: Object.fromEntries(Object.entries(cpu1).map(([name, s]) => [name, Number((s - (cpu0[name] ?? 0)).toFixed(2))])),
    transactionsPerDelivery: 0,
  };
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted.at(-1) ?? null };
}



function renderTable(result: FanoutResult, bullmq: BaselineResult, drained?: FanoutResult): string {
  const ms = (value: number | null): string => (value === null ? '—' : String(value));
  const verdict = result.missing > 0 ? 'incomplete' : result.deliveriesPerSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED';
  const header = ['run', 'events', 'deliveries', 'missing', 'dup', 'deliveries/s', 'target', 'verdict', 'commit→receipt p50 ms', 'p99 ms', 'max ms', 'API 2xx→receipt p99 ms', 'PG tx/delivery', 'CPU s', 'CPU ms/delivery'];
  const cpuPerDelivery = (r: FanoutResult): string =>
    Object.entries(r.cpuSeconds).map(([name, s]) => `${name} ${r.delivered > 0 ? ((s * 1000) / r.delivered).toFixed(3) : '—'}`).join(', ');
  const drainRow = drained
    ? [
        [
          'drain: events posted with the worker stopped, then resumed',
          String(drained.events),
          `${drained.delivered}/${drained.expected}`,
          String(drained.missing),
          String(drained.duplicates),
          String(drained.deliveriesPerSecond),
          `>= ${TARGET_PER_SECOND.toLocaleString('en')}/s`,
          drained.missing > 0 ? 'incomplete' : drained.deliveriesPerSecond >= TARGET_PER_SECOND ? 'met' : 'MISSED',
          '—',
          '—',
          '—',
          '—',
          String(drained.transactionsPerDelivery),
          Object.entries(drained.cpuSeconds).map(([name, s]) => `${name} ${s}`).join(', '),
          cpuPerDelivery(drained),
        ],
      ]
    : [];
  const rows = [
    [
      `Ferry: ${WORKSPACES} workspaces x ${ENDPOINTS_PER_WORKSPACE} endpoints`,
      String(result.events),
      `${result.delivered}/${result.expected}`,
      String(result.missing),
      String(result.duplicates),
      String(result.deliveriesPerSecond),
      `>= ${TARGET_PER_SECOND.toLocaleString('en')}/s`,
      verdict,
      ms(result.commitToReceipt.p50Ms),
      ms(result.commitToReceipt.p99Ms),
      ms(result.commitToReceipt.maxMs),
      ms(result.answerToReceipt.p99Ms),
      String(result.transactionsPerDelivery),
      Object.entries(result.cpuSeconds).map(([name, s]) => `${name} ${s}`).join(', '),
      cpuPerDelivery(result),
    ],
    ...drainRow,
    ['bare BullMQ add+process (no-op, same run)', '—', String(bullmq.count), '—', '—', String(Math.round(bullmq.perSecond)), '—', '—', '—', '—', '—', '—', '—', '—', '—'],
  ];
  return [
    `Fan-out: ${result.events} events (POST /v1/contacts -> contact.created) x ${ENDPOINTS_PER_WORKSPACE} endpoints each = ${result.expected} webhook deliveries ` +
      `to ${WORKSPACES * ENDPOINTS_PER_WORKSPACE} endpoints on one local http receiver`,
    markdownTable(header, rows),
    '',
    `deliveries/s: distinct (webhook-id, endpoint) receipts / (last receipt - first event's commit), ${result.seconds} s. Commit = the envelope's createdAt ` +
      `(set in the writing transaction); the events were posted by ${CLIENTS} clients back to back (${result.eventsPostedPerSecond} events/s taken in), ` +
      `so the latency includes the backlog. Bare BullMQ: ${bullmq.count} no-op jobs added by 32 callers and processed at concurrency 16, ` +
      `${bullmq.seconds.toFixed(2)} s. API, worker and receiver are separate processes; on a shared 2-core machine numbers are noisy.` +
      (drained ? ` Drain: deliveries/s from the worker's resume to the last receipt (${drained.seconds} s); CPU and transactions from the resume.` : ''),
  ].join('\n');
}


main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
