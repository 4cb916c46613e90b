import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { type FerryConfig, loadConfig } from '#config';
import { migrate } from '#database';
import type { EventEnvelope } from '#domain';
import { deriveAccessTokenKey, signAccessToken } from '#identity';
import { childEnv, processEnv } from './bench-env.js';
import { drive, type Pace, postWhatsappHook, request, type WhatsappInbox } from './delivery-load.js';
import { freePort, logLine, type Running, spawnNode, startNode, stop, waitForHttp } from './delivery-processes.js';
import { dropDatabase, seedTenant } from './seed.js';
import { clearRedisKeys, cpuSeconds, percentile } from './measure.js';

/**
 * `npm run bench:live`: how fast the dashboard hears of a customer's message. Signed WhatsApp webhooks
 * are posted to the API (a process from the build, as is the worker); the time runs from the hook's
 * 200 (accepted) to the `message.created` event arriving at each of CLIENTS socket.io clients
 * connected to that API (inbound job, transaction, event.dispatch job, Redis emitter, adapter, socket).
 * A light fixed rate gives the latency; a burst shows what a flood does to it. Reports, never fails.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = `${ROOT}bench/results`;
const DATABASE = 'ferry_bench_live';
const REDIS_PREFIX = 'ferry-bench-live';
const CLIENTS = 200;
const FEW = 10;
const SENDERS = 50;
const LIGHT: Pace = { kind: 'rate', perSecond: 20, count: 200 };
const BURST: Pace = { kind: 'clients', clients: 32, count: 2000 };
const WAIT_MS = 60_000;

const log = (line: string): void => void process.stderr.write(`[bench:live] ${line}\n`);

interface Row {
  phase: string;
  messages: number;
  deliveries: number;
  missing: number;
  duplicates: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Where the time goes: hook accepted -> event committed (inbound job), committed -> at the client (fan-out). */
  toCommitP50Ms: number | null;
  toClientP50Ms: number | null;
  eventsPerSecond: number;
  cpuSeconds: Record<string, number>;
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const env = processEnv(DATABASE, REDIS_PREFIX, port);
  const config = loadConfig(env);
  const children: Running[] = [];
  const sockets: Socket[] = [];
  let baseline: { p50Ms: number | null; p99Ms: number | null } | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const owner = new pg.Client({ connectionString: config.database.url, application_name: 'ferry-bench-live' });
  try {
    await clearRedisKeys(config.redis.url, `${REDIS_PREFIX}*`);
    log(`fresh database ${DATABASE}; API and worker from dist/`);
    await dropDatabase(config.database.url);
    await migrate(config);
    await owner.connect();
    const tenant = await seedTenant(owner);
    const userId = (await owner.query<{ user_id: string }>(`SELECT user_id FROM members WHERE id = $1`, [tenant.memberId])).rows[0]!.user_id;
    const api = spawnNode('api', `${ROOT}dist/apps/api/src/main.js`, [], { cwd: ROOT, env: childEnv(env), logFile: `${RESULTS}/live-api.log` });
    children.push(api.running);
    await waitForHttp(`${apiUrl}/health/live`, api.running);
    const worker = await startNode('worker', `${ROOT}dist/apps/worker/src/main.js`, [], {
      cwd: ROOT,
      env: childEnv({ ...env, LOG_LEVEL: 'info' }),
      logFile: `${RESULTS}/live-worker.log`,
      ready: (line) => (logLine(line)?.['msg'] === 'worker started' ? true : undefined),
    });
    children.push(worker.running);
    const inbox = await createInbox(agent, apiUrl, tenant.apiKey);

    log(`${CLIENTS} socket.io clients connect (websocket, an owner's access token)`);
    const token = signAccessToken(
      { sub: userId, wid: tenant.workspaceId, mid: tenant.memberId, role: 'owner' },
      deriveAccessTokenKey(config.auth.appSecret),
      config.auth.accessTokenTtlSeconds,
      Math.floor(Date.now() / 1000),
    );
    // arrivals[client] : wamid -> arrival times (a second arrival is a duplicate); committed: wamid -> event.createdAt
    const arrivals: Array<Map<string, number[]>> = [];
    const committed = new Map<string, number>();
    for (let i = 0; i < CLIENTS; i++) {
      const socket = io(apiUrl, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
      const seen = new Map<string, number[]>();
      socket.on('message.created', (event: EventEnvelope) => {
        const key = (event.data as { externalId?: string }).externalId;
        if (!key) return;
        seen.set(key, [...(seen.get(key) ?? []), Date.now()]);
        committed.set(key, Date.parse(event.createdAt));
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      sockets.push(socket);
      arrivals.push(seen);
    }

    const senders = Array.from({ length: SENDERS }, (_, i) => `1555${String(3_000_000 + i)}`);
    const hook = (i: number): Promise<string> => postWhatsappHook(agent, apiUrl, inbox, senders[i % SENDERS]!, `Live ${i}: is the boat on time?`);
    const phase = async (name: string, pace: Pace): Promise<Row> => {
      for (const seen of arrivals) seen.clear();
      const cpu0 = cpuSeconds(children);
      const { sent, failures } = await drive(pace, hook);
      if (failures.length > 0) log(`${failures.length} hooks failed, e.g. ${failures[0]}`);
      const deadline = Date.now() + WAIT_MS;
      const complete = () => arrivals.every((seen) => sent.every(({ key }) => seen.has(key)));
      while (!complete() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 500)); // late duplicates
      const cpu1 = cpuSeconds(children);
      const latencies: number[] = [];
      const toCommit: number[] = [];
      const toClient: number[] = [];
      for (const { key, answeredAt } of sent) {
        const at = committed.get(key);
        if (at !== undefined) toCommit.push(at - answeredAt);
      }
      let missing = 0;
      let duplicates = 0;
      let last = 0;
      for (const seen of arrivals) {
        for (const { key, answeredAt } of sent) {
          const times = seen.get(key);
          if (!times) {
            missing++;
            continue;
          }
          duplicates += times.length - 1;
          latencies.push(Math.max(0, times[0]! - answeredAt));
          toClient.push(times[0]! - (committed.get(key) ?? times[0]!));
          last = Math.max(last, times[0]!);
        }
      }
      latencies.sort((a, b) => a - b);
      toCommit.sort((a, b) => a - b);
      toClient.sort((a, b) => a - b);
      const first = Math.min(...sent.map((s) => s.sentAt));
      return {
        phase: name,
        messages: sent.length,
        deliveries: latencies.length,
        missing,
        duplicates,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        maxMs: latencies.length ? latencies[latencies.length - 1]! : null,
        toCommitP50Ms: percentile(toCommit, 0.5),
        toClientP50Ms: percentile(toClient, 0.5),
        cpuSeconds: Object.fromEntries(Object.entries(cpu1).map(([name, seconds]) => [name, Number((seconds - (cpu0[name] ?? 0)).toFixed(2))])),
        eventsPerSecond: last > first ? Math.round((latencies.length * 1000) / (last - first)) : 0,
      };
    };

    log('warm-up (not measured), light load, then a burst');
    await phase('warm-up', { kind: 'clients', clients: 8, count: 100 });
    const rows = [
      await phase(`light (${LIGHT.kind === 'rate' ? LIGHT.perSecond : 0}/s)`, LIGHT),
      await phase(`burst (${BURST.kind === 'clients' ? BURST.clients : 0} hook clients)`, BURST),
    ];
    baseline = await redisRoundTrip(config, LIGHT.kind === 'rate' ? LIGHT.perSecond : 20, 200);
    // The same light load with 10 clients left: what the number of connected clients costs.
    for (const socket of sockets.splice(FEW)) socket.disconnect();
    arrivals.splice(FEW);
    rows.push(await phase(`light (${LIGHT.kind === 'rate' ? LIGHT.perSecond : 0}/s), ${FEW} clients`, LIGHT));
    for (const child of children) if (child.exited) throw new Error(`${child.name} exited (${child.exited}) during the run: see bench/results/live-${child.name}.log`);
    process.stdout.write(`${renderTable(rows)}\n`);
    process.stdout.write(`Machine baseline, same run: Redis PUBLISH -> subscriber round trip in this driver at 20/s: p50 ${baseline?.p50Ms} ms, p99 ${baseline?.p99Ms} ms\n`);
    writeFileSync(
      `${RESULTS}/live.json`,
      `${JSON.stringify({ at: new Date().toISOString(), clients: CLIENTS, machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version }, rows, baseline }, null, 2)}\n`,
    );
    log('wrote bench/results/live.json (logs: bench/results/live-*.log)');
  } finally {
    for (const socket of sockets) socket.disconnect();
    agent.destroy();
    await owner.end().catch(() => undefined);
    for (const child of children.reverse()) await stop(child);
    await clearRedisKeys(config.redis.url, `${REDIS_PREFIX}*`).catch(() => undefined);
    await dropDatabase(config.database.url).catch(() => undefined);
  }
}

/**
 * What the machine gives any round trip right now: PUBLISH on one Redis connection to a subscriber on
 * another, in this process, at `perSecond`. On a loaded machine this alone takes tens of ms.
 */
async function redisRoundTrip(config: FerryConfig, perSecond: number, count: number): Promise<{ p50Ms: number | null; p99Ms: number | null }> {
  const pub = new Redis(config.redis.url);
  const sub = new Redis(config.redis.url);
  const channel = `${REDIS_PREFIX}:baseline`;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  try {
    await sub.subscribe(channel);
    sub.on('message', (_channel: string, message: string) => {
      const at = sentAt.get(message);
      if (at !== undefined) latencies.push(performance.now() - at);
    });
    for (let i = 0; i < count; i++) {
      sentAt.set(String(i), performance.now());
      await pub.publish(channel, String(i));
      await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    pub.disconnect();
    sub.disconnect();
  }
  latencies.sort((a, b) => a - b);
  const round = (value: number | null) => (value === null ? null : Math.round(value * 10) / 10);
  return { p50Ms: round(percentile(latencies, 0.5)), p99Ms: round(percentile(latencies, 0.99)) };
}



/** A WhatsApp inbox (never sent from here: no provider needed), to post signed hooks to. */
async function createInbox(agent: http.Agent, apiUrl: string, apiKey: string): Promise<WhatsappInbox> {
  const config = { phoneNumberId: '106540352242922', accessToken: `bench-${randomBytes(8).toString('hex')}`, appSecret: randomBytes(16).toString('hex'), verifyToken: 'bench-verify' };
  const created = await request(agent, `${apiUrl}/v1/inboxes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ name: 'Bench live WhatsApp', channel: 'whatsapp', config }),
  });
  if (created.status !== 201) throw new Error(`creating the inbox answered ${created.status}: ${created.body}`);
  return { id: (JSON.parse(created.body) as { id: string }).id, phoneNumberId: config.phoneNumberId, appSecret: config.appSecret };
}


function renderTable(rows: Row[]): string {
  const header = ['phase', 'hooks', 'deliveries', 'missing', 'dup', 'p50 ms', 'p99 ms', 'max ms', 'to commit p50', 'commit to client p50', 'events/s (all clients)', 'CPU s'];
  const lines = rows.map((row) =>
    [
      row.phase, row.messages, row.deliveries, row.missing, row.duplicates, row.p50Ms ?? '—', row.p99Ms ?? '—', row.maxMs ?? '—',
      row.toCommitP50Ms ?? '—', row.toClientP50Ms ?? '—', row.eventsPerSecond,
      Object.entries(row.cpuSeconds).map(([name, seconds]) => `${name} ${seconds}`).join(', '),
    ].map(String),
  );
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const render = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `Live updates: WhatsApp hook accepted (200) -> message.created at each of ${CLIENTS} socket.io clients (last row: ${FEW}) (target: p99 < 100 ms at light load)`,
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...lines.map(render),
  ].join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
