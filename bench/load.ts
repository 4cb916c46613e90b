import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FromLoad, LoadPlan, LoadResult, PhaseStats, RequestSpec, ToLoad } from './protocol.js';
import { percentile } from './measure.js';

/**
 * The load generator, in its own process so its work does not share an event loop with the
 * server it measures. It runs one plan when told, answers with the numbers, and waits for the next.
 */

interface Outcome {
  status: number | 'timeout' | 'error';
  /** Milliseconds: from the scheduled send time (open loop) or the actual send (closed loop). */
  latencyMs: number;
  doneAt: number;
  sample?: string;
}

function send(agent: http.Agent, plan: LoadPlan, spec: RequestSpec, from: number): Promise<Outcome> {
  const url = new URL(spec.path, plan.baseUrl);
  const headers: Record<string, string | number> = { ...plan.headers };
  if (spec.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(spec.body);
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: Outcome['status'], sample?: string): void => {
      if (settled) return;
      settled = true;
      const doneAt = performance.now();
      resolve({ status, latencyMs: doneAt - from, doneAt, ...(sample === undefined ? {} : { sample }) });
    };
    const request = http.request(
      { agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: spec.method, headers },
      (response) => {
        const status = response.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          if (!ok && chunks.length < 4) chunks.push(chunk);
        });
        response.on('end', () =>
          finish(status, ok ? undefined : `${spec.method} ${spec.path} -> ${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`),
        );
        response.on('error', () => finish('error'));
      },
    );
    request.setTimeout(plan.timeoutMs, () => {
      finish('timeout', `${spec.method} ${spec.path} -> no answer within ${plan.timeoutMs} ms`);
      request.destroy();
    });
    request.on('error', (error) => finish('error', `${spec.method} ${spec.path} -> ${error.message}`));
    request.end(spec.body);
  });
}

const pick = (requests: RequestSpec[]): RequestSpec => requests[Math.floor(Math.random() * requests.length)]!;


function summarise(outcomes: Outcome[], sent: number, windowMs: number): PhaseStats {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let sampleFailure: string | undefined;
  for (const outcome of outcomes) {
    if (typeof outcome.status === 'number' && outcome.status >= 200 && outcome.status < 300) {
      latencies.push(outcome.latencyMs);
    } else {
      const key = String(outcome.status);
      failures[key] = (failures[key] ?? 0) + 1;
      sampleFailure ??= outcome.sample;
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    sent,
    ok: latencies.length,
    failures,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.length ? latencies[latencies.length - 1]! : null,
    achievedRps: windowMs > 0 ? (latencies.length * 1000) / windowMs : 0,
    ...(sampleFailure === undefined ? {} : { sampleFailure }),
  };
}

/**
 * Open loop: request i is due at start + i / rate whatever happened to the ones before it, and its
 * latency counts from that due time, so a stalled server is charged for the queue it causes (no
 * coordinated omission).
 */
async function openLoop(agent: http.Agent, plan: LoadPlan): Promise<PhaseStats> {
  const { rate, durationSeconds } = plan.open;
  const interval = 1000 / rate;
  const total = Math.round(rate * durationSeconds);
  const start = performance.now() + 20;
  const pending: Promise<Outcome>[] = [];
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        pending.push(send(agent, plan, pick(plan.requests), start + next * interval));
        next += 1;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  const outcomes = await Promise.all(pending);
  const lastDone = outcomes.reduce((latest, o) => Math.max(latest, o.doneAt), start);
  // The window runs to the later of the schedule's end and the last answer, so a server that falls
  // behind shows a lower achieved rate than the one asked for.
  const windowMs = Math.max(durationSeconds * 1000, lastDone - start);
  return summarise(outcomes, total, windowMs);
}

/** Closed loop: `concurrency` clients each send the next request when the last one answers. */
async function closedLoop(
  agent: http.Agent,
  plan: LoadPlan,
  { concurrency, durationSeconds }: { concurrency: number; durationSeconds: number },
): Promise<PhaseStats> {
  const start = performance.now();
  const deadline = start + durationSeconds * 1000;
  const outcomes: Outcome[] = [];
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const outcome = await send(agent, plan, pick(plan.requests), performance.now());
      if (outcome.doneAt <= deadline) outcomes.push(outcome);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return summarise(outcomes, outcomes.length, durationSeconds * 1000);
}

async function run(plan: LoadPlan): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  try {
    await closedLoop(agent, plan, plan.warmup);
    const open = await openLoop(agent, plan);
    const closed = await closedLoop(agent, plan, plan.closed);
    return { open, closed };
  } finally {
    agent.destroy();
  }
}

const reply = (message: FromLoad): void => {
  process.send?.(message);
};

process.on('message', (message: ToLoad) => {
  if (message.type !== 'run') return;
  run(message.plan).then(
    (result) => reply({ type: 'result', result }),
    (error: unknown) => reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
