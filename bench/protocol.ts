/** What the runner and the load generator say to each other over the fork IPC channel. */

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  /** A JSON body, already serialised. */
  body?: string;
}

export interface LoadPlan {
  baseUrl: string;
  headers: Record<string, string>;
  /** Each request picks one of these at random. */
  requests: RequestSpec[];
  /** Closed-loop and gentle, so a cold server (JIT, pools) warms up without building a backlog. */
  warmup: { concurrency: number; durationSeconds: number };
  open: { rate: number; durationSeconds: number };
  closed: { concurrency: number; durationSeconds: number };
  timeoutMs: number;
}

export interface PhaseStats {
  /** Requests scheduled (open loop) or completed (closed loop) in the measured window. */
  sent: number;
  ok: number;
  /** Non-2xx answers and transport failures, by status ('timeout', 'error' for the latter). */
  failures: Record<string, number>;
  /** Latencies of 2xx answers only (open loop: from each request's scheduled send time). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** 2xx answers per second over the measured window. */
  achievedRps: number;
  /** The first failure's status and body, to tell a missing endpoint from a slow one. */
  sampleFailure?: string;
}

export interface LoadResult {
  open: PhaseStats;
  closed: PhaseStats;
}

export type ToLoad = { type: 'run'; plan: LoadPlan };
export type FromLoad = { type: 'result'; result: LoadResult } | { type: 'failed'; message: string };
