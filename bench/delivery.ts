import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type FerryConfig, loadConfig } from '#config';
import { migrate } from '#database';
import { argValue, childEnv, processEnv, profileArgs } from './bench-env.js';
import { type BaselineResult, bareBullmq, barePostgres } from './delivery-baselines.js';
import { drive, type FlowStats, flowStats, type Pace, postWhatsappHook, request, waitForCount, type WhatsappInbox } from './delivery-load.js';
import { freePort, logLine, type Running, spawnNode, startNode, stop, waitForHttp } from './delivery-processes.js';
import { dropDatabase, seedTenant } from './seed.js';
import { clearRedisKeys, cpuSeconds, serverCpuSeconds } from './measure.js';

/**
 * `npm run bench:delivery` (and the second half of `npm run bench`): Ferry's delivery pipeline on this
 * machine, WhatsApp end to end through the provider simulator, every part its own process from the
 * build (simulator, API, worker; this process drives and measures):
 * - inbound: signed WhatsApp webhooks posted to /hooks/whatsapp/{inbox} -> the message stored by the worker;
 * - outbound: POST /v1/conversations/{id}/messages -> the worker's send accepted by the simulator;
 * each at a light fixed rate (latency) and by 32 clients back to back (throughput), beside the same
 * run's bare BullMQ add+process and bare PostgreSQL insert rates. Never fails on a time: it reports.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = `${ROOT}bench/results`;
/** `--tag <name>`: a database and Redis prefix of its own, so two runs on one machine never meet. */
const TAG = argValue('--tag');
const DATABASE = TAG ? `ferry_bench_${TAG}_delivery` : 'ferry_bench_delivery';
const REDIS_PREFIX = TAG ? `ferry-bench-${TAG}-delivery` : 'ferry-bench-delivery';
const SENDERS = 500;
const BURST = 5000;
/** Messages of each flow's warm-up at the burst's concurrency, before anything is measured. */
const WARM_UP = 2000;
const LIGHT: Pace = { kind: 'rate', perSecond: 20, count: 100 };
const CLIENTS = 32;
const WAIT_MS = 120_000;
/** `--inbound` or `--outbound` measures one flow only (while working on it); both by default. */
/** `--profile`: the API and the worker write V8 CPU profiles into bench/results/profiles when they stop. */
const NODE_ARGS = profileArgs(`${RESULTS}/profiles`);
const FLOWS = new Set(['inbound', 'outbound'].filter((flow) => !process.argv.includes(flow === 'inbound' ? '--outbound' : '--inbound')));

const log = (line: string): void => void process.stderr.write(`[bench:delivery] ${line}\n`);

interface Row {
  flow: string;
  phase: string;
  target: string;
  stats: FlowStats;
  /** What the phase cost: PostgreSQL transactions committed per message, CPU seconds of each process. */
  cost: Cost;
}

interface Cost {
  transactionsPerMessage: number;
  cpuSeconds: Record<string, number>;
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  const env = processEnv(DATABASE, REDIS_PREFIX, port, {
    ALLOW_PRIVATE_URLS: 'true',
    // The pipeline's rate, not Meta's pair rate (replies go round-robin to the same few hundred users).
    WHATSAPP_PAIR_INTERVAL_MS: '0',
  });
  const config = loadConfig(env);
  const children: Running[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const owner = new pg.Client({ connectionString: config.database.url, application_name: 'ferry-bench-delivery' });
  try {
    await clearRedisKeys(config.redis.url, `${REDIS_PREFIX}*`);
    log(`fresh database ${DATABASE}, simulator, API and worker from dist/`);
    await dropDatabase(config.database.url);
    await migrate(config);
    await owner.connect();
    const tenant = await seedTenant(owner);
    const stack = await startStack(env, children);
    const apiUrl = `http://127.0.0.1:${port}`;
    const inbox = await createInbox(agent, apiUrl, stack.simUrl, tenant.apiKey);

    log('baselines: bare BullMQ add+process, bare PostgreSQL insert');
    const bullmq = await bareBullmq(config.redis.url, `${REDIS_PREFIX}-bare`, BURST);
    const postgres = await barePostgres(config.database.url, BURST);

    const rows: Row[] = [];
    const senders = Array.from({ length: SENDERS }, (_, i) => `1555${String(2_000_000 + i)}`);
    const hook = (i: number, from: string): Promise<string> => postWhatsappHook(agent, apiUrl, inbox, from, `Inbound ${i}: is the boat on time?`);
    const meter = costMeter(owner, children);
    const inbound = async (phase: string, pace: Pace, from: (i: number) => string, target = '—'): Promise<void> => {
      const started = await meter.start();
      const { sent, failures } = await drive(pace, (i) => hook(i, from(i)));
      const arrivals = await inboundArrivals(owner, tenant.workspaceId, sent.map((s) => s.key));
      const stats = flowStats(sent, arrivals, failures.length);
      rows.push({ flow: 'inbound: WhatsApp hook -> stored message', phase, target, stats, cost: await started.stop(stats.messages) });
    };
    log(`inbound: ${SENDERS} new customers write once (warm-up, not measured)`);
    await inbound('warm-up', { kind: 'clients', clients: 16, count: SENDERS }, (i) => senders[i]!);
    rows.pop();
    // Table statistics, as autovacuum would have them by now (it is off on these machines): without
    // them the planner guesses a workspace's rows are few and reads them all.
    await owner.query('ANALYZE');
    if (FLOWS.has('inbound')) {
      // A server that has run for a while has its hot paths compiled: the known customers' path, at
      // the burst's concurrency, once before it is measured (a fresh process spends seconds in the JIT).
      log('inbound: warm-up at burst concurrency (not measured), light load, then a burst');
      await inbound('warm-up', { kind: 'clients', clients: CLIENTS, count: WARM_UP }, (i) => senders[i % SENDERS]!);
      rows.pop();
      await inbound(`light (${LIGHT.kind === 'rate' ? LIGHT.perSecond : 0}/s)`, LIGHT, () => pick(senders), 'p50, p99');
      await inbound(`burst (${CLIENTS} clients)`, { kind: 'clients', clients: CLIENTS, count: BURST }, (i) => senders[i % SENDERS]!, '>= 1,500 msg/s');
    }

    // The hooks went straight to Ferry: tell the simulated WhatsApp that these customers wrote (24 h window).
    for (const user of senders) {
      await request(agent, `${stack.simUrl}/_sim/whatsapp/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ account: inbox.simAccount, user, lastInboundAt: Date.now() }),
      });
    }
    // The sends are measured to the provider's acceptance; receipts would only add hook traffic here.
    await request(agent, `${stack.simUrl}/_sim/whatsapp/behaviour`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'silent' }) });
    const conversations = (await owner.query<{ id: string }>(`SELECT id FROM conversations WHERE workspace_id = $1 ORDER BY id`, [tenant.workspaceId])).rows.map((r) => r.id);
    const reply = async (i: number): Promise<string> => {
      const answer = await request(agent, `${apiUrl}/v1/conversations/${conversations[i % conversations.length]}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}` },
        body: JSON.stringify({ type: 'text', body: `Reply ${i}: yes, it leaves at 9.` }),
      });
      if (answer.status !== 202) throw new Error(`POST answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      return (JSON.parse(answer.body) as { id: string }).id;
    };
    const outbound = async (phase: string, pace: Pace, target = '—'): Promise<void> => {
      const started = await meter.start();
      const { sent, failures } = await drive(pace, reply);
      await waitForCount(() => countSent(owner, sent.map((s) => s.key)), sent.length, WAIT_MS);
      const arrivals = await outboundArrivals(agent, stack.simUrl);
      const stats = flowStats(sent, arrivals, failures.length);
      rows.push({ flow: 'outbound: POST reply -> accepted by the provider', phase, target, stats, cost: await started.stop(stats.messages) });
    };
    if (!FLOWS.has('outbound')) return finish(rows, bullmq, postgres, children, config);
    log('outbound: warm-up at burst concurrency (not measured), light load, then a burst');
    await outbound('warm-up', { kind: 'clients', clients: CLIENTS, count: WARM_UP });
    rows.pop();
    // The outbound tables were empty at the first ANALYZE: left so, the planner would take a lookup of
    // one try by its id for a walk through all of the workspace's tries, as it grows.
    await owner.query('ANALYZE');
    await outbound(`light (${LIGHT.kind === 'rate' ? LIGHT.perSecond : 0}/s)`, LIGHT, 'p50 < 20 ms');
    await outbound(`burst (${CLIENTS} clients)`, { kind: 'clients', clients: CLIENTS, count: BURST }, '>= 1,000 msg/s');
    finish(rows, bullmq, postgres, children, config);
  } finally {
    agent.destroy();
    await owner.end().catch(() => undefined);
    for (const child of children.reverse()) await stop(child);
    await clearRedisKeys(config.redis.url, `${REDIS_PREFIX}*`).catch(() => undefined);
    await dropDatabase(config.database.url).catch(() => undefined);
  }
}

function finish(rows: Row[], bullmq: BaselineResult, postgres: BaselineResult, children: Running[], config: FerryConfig): void {
  for (const child of children) if (child.exited) throw new Error(`${child.name} exited (${child.exited}) during the run: see bench/results/delivery-${child.name}.log`);
  process.stdout.write(`${renderTable(rows, bullmq, postgres, config.worker.concurrency)}\n`);
  writeFileSync(
    `${RESULTS}/delivery.json`,
    `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version }, rows, baselines: { bullmq, postgres } }, null, 2)}\n`,
  );
  log('wrote bench/results/delivery.json (logs: bench/results/delivery-*.log)');
}


const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

/**
 * Where a phase's time went: transactions committed in the bench database (pg_stat_database, flushed
 * by Postgres within a second of going idle) and CPU seconds of each child process, of this driver
 * and of the PostgreSQL and Redis servers (/proc).
 */
function costMeter(owner: pg.Client, children: Running[]): { start(): Promise<{ stop(messages: number): Promise<Cost> }> } {
  const commits = async (): Promise<number> => {
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const { rows } = await owner.query<{ n: number }>(`SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()`);
    return rows[0]?.n ?? 0;
  };
  const cpu = (): Record<string, number> => ({ ...cpuSeconds(children), ...serverCpuSeconds(DATABASE) });
  return {
    async start() {
      const commits0 = await commits();
      const cpu0 = cpu();
      return {
        async stop(messages) {
          const cpu1 = cpu();
          const commits1 = await commits();
          const cpuSeconds = Object.fromEntries(Object.entries(cpu1).map(([name, s]) => [name, Number((s - (cpu0[name] ?? 0)).toFixed(2))]));
          return { transactionsPerMessage: messages > 0 ? (commits1 - commits0) / messages : 0, cpuSeconds };
        },
      };
    },
  };
}

/** The simulator, the API and the worker, each a process from dist/. */
async function startStack(env: Record<string, string>, children: Running[]): Promise<{ simUrl: string }> {
  const sim = await startNode('simulator', `${ROOT}dist/apps/simulator/src/main.js`, ['--port', '0', '--smtp-port', '0', '--log-level', 'info'], {
    cwd: ROOT,
    env: childEnv({}),
    logFile: `${RESULTS}/delivery-simulator.log`,
    ready: (line) => {
      const entry = logLine(line);
      return entry?.['msg'] === 'simulator listening' ? String(entry['baseUrl']) : undefined;
    },
  });
  children.push(sim.running);
  const api = spawnNode('api', `${ROOT}dist/apps/api/src/main.js`, [], { cwd: ROOT, env: childEnv(env), logFile: `${RESULTS}/delivery-api.log`, nodeArgs: NODE_ARGS });
  children.push(api.running);
  await waitForHttp(`${env['PUBLIC_URL']}/health/live`, api.running);
  const worker = await startNode('worker', `${ROOT}dist/apps/worker/src/main.js`, [], {
    cwd: ROOT,
    env: childEnv({ ...env, LOG_LEVEL: 'info' }),
    logFile: `${RESULTS}/delivery-worker.log`,
    nodeArgs: NODE_ARGS,
    ready: (line) => (logLine(line)?.['msg'] === 'worker started' ? true : undefined),
  });
  children.push(worker.running);
  return { simUrl: sim.value };
}

/** A WhatsApp inbox pointed at the simulator (no send-rate cap of its own), and the same account there. */
async function createInbox(agent: http.Agent, apiUrl: string, simUrl: string, apiKey: string): Promise<WhatsappInbox & { simAccount: string }> {
  const config = {
    phoneNumberId: '106540352242922',
    accessToken: `bench-${randomBytes(8).toString('hex')}`,
    appSecret: randomBytes(16).toString('hex'),
    verifyToken: 'bench-verify',
    apiBaseUrl: `${simUrl}/v21.0`,
    sendRatePerSecond: 10_000,
  };
  const created = await request(agent, `${apiUrl}/v1/inboxes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ name: 'Bench WhatsApp', channel: 'whatsapp', config }),
  });
  if (created.status !== 201) throw new Error(`creating the inbox answered ${created.status}: ${created.body}`);
  const inbox = JSON.parse(created.body) as { id: string; webhookUrl: string };
  const account = await request(agent, `${simUrl}/_sim/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'whatsapp', ...config, hookUrl: inbox.webhookUrl }),
  });
  if (account.status !== 201) throw new Error(`registering the simulator account answered ${account.status}: ${account.body}`);
  return { id: inbox.id, phoneNumberId: config.phoneNumberId, appSecret: config.appSecret, simAccount: (JSON.parse(account.body) as { id: string }).id };
}

/** When each inbound message (by wamid) was stored, waiting (bounded) for all of them. */
async function inboundArrivals(owner: pg.Client, workspaceId: string, wamids: string[]): Promise<Map<string, number>> {
  const query = `FROM messages WHERE workspace_id = $1 AND direction = 'in' AND external_id = ANY($2::text[])`;
  await waitForCount(async () => (await owner.query<{ n: number }>(`SELECT count(*)::int AS n ${query}`, [workspaceId, wamids])).rows[0]!.n, wamids.length, WAIT_MS);
  const { rows } = await owner.query<{ key: string; at: number }>(`SELECT external_id AS key, (extract(epoch FROM created_at) * 1000)::float8 AS at ${query}`, [workspaceId, wamids]);
  return new Map(rows.map((row) => [row.key, row.at]));
}

async function countSent(owner: pg.Client, ids: string[]): Promise<number> {
  const { rows } = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) AND status <> 'queued'`, [ids]);
  return rows[0]!.n;
}

/** When the simulator accepted each of our messages (by our id). */
async function outboundArrivals(agent: http.Agent, simUrl: string): Promise<Map<string, number>> {
  const answer = await request(agent, `${simUrl}/_sim/whatsapp/sent`);
  const report = JSON.parse(answer.body) as { messages: Array<{ ferryMessageId?: string; acceptedAt: string }> };
  return new Map(report.messages.filter((m) => m.ferryMessageId).map((m) => [m.ferryMessageId!, Date.parse(m.acceptedAt)]));
}

const num = (value: number | null, digits = 1): string => (value === null ? '—' : value.toFixed(digits));

function renderTable(rows: Row[], bullmq: BaselineResult, postgres: BaselineResult, concurrency: FerryConfig['worker']['concurrency']): string {
  const header = ['flow', 'phase', 'messages', 'msg/s end to end', 'msg/s accepted', 'p50 ms', 'p99 ms', 'target', 'lost / errors', 'PG tx/msg', 'CPU s api / worker / sim / driver / pg / redis'];
  const body = rows.map((r) => [
    r.flow,
    r.phase,
    String(r.stats.messages),
    num(r.stats.perSecond, 0),
    num(r.stats.acceptedPerSecond, 0),
    num(r.stats.p50Ms),
    num(r.stats.p99Ms),
    r.target,
    `${r.stats.missing} / ${r.stats.failures}`,
    r.cost.transactionsPerMessage.toFixed(1),
    ['api', 'worker', 'simulator', 'driver', 'postgres', 'redis'].map((name) => num(r.cost.cpuSeconds[name] ?? null)).join(' / '),
  ]);
  body.push(['bare BullMQ: add + process a no-op job', `${32} producers, concurrency 16`, String(bullmq.count), num(bullmq.perSecond, 0), '—', '—', '—', '—', '—', '—', '—']);
  body.push(['bare PostgreSQL: single-row INSERT, own transaction', '32 clients, pool 20', String(postgres.count), num(postgres.perSecond, 0), '—', '—', '—', '—', '—', '1.0', '—']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    'Delivery (WhatsApp through the provider simulator; simulator, API, worker and this driver share the machine)',
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...body.map(line),
    '',
    `Inbound: signed webhooks from ${SENDERS} known customers, latency from the post to the stored row (created_at). ` +
      'Outbound: replies spread over their conversations (each conversation keeps its order), latency from the POST to ' +
      "the simulator's acceptance, receipts off. msg/s end to end: from the first send to the last arrival; accepted: to the last answer of the API. Light: open loop at " +
      `${LIGHT.kind === 'rate' ? LIGHT.perSecond : 0}/s. Worker concurrency: inbound ${concurrency.inbound}, outbound ${concurrency.outbound}. On a shared 2-core machine numbers are noisy.`,
  ].join('\n');
}


main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
