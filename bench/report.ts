import type { LoadPlan, LoadResult, PhaseStats } from './protocol.js';

export interface ScenarioResult extends LoadResult {
  scenario: string;
  p99TargetMs: number | null;
}

export interface SeedSummary {
  conversations: number;
  messages: number;
  seconds: number;
  targetSeconds: number;
  steps: string[];
}

const ms = (value: number | null): string => (value === null ? '—' : value.toFixed(value < 10 ? 2 : 1));
const failures = (stats: PhaseStats): number => Object.values(stats.failures).reduce((sum, n) => sum + n, 0);

function errorsCell(result: ScenarioResult): string {
  const counts: Record<string, number> = {};
  for (const stats of [result.open, result.closed]) {
    for (const [status, n] of Object.entries(stats.failures)) counts[status] = (counts[status] ?? 0) + n;
  }
  const parts = Object.entries(counts).map(([status, n]) => `${n}×${status}`);
  return parts.length ? parts.join(' ') : '0';
}

function verdict(result: ScenarioResult): string {
  if (result.p99TargetMs === null) return '—';
  if (failures(result.open) > 0 || result.open.p99Ms === null) return 'errors';
  return result.open.p99Ms < result.p99TargetMs ? 'met' : 'MISSED';
}

/** The table on stdout: one row per scenario, open-loop latencies and the closed-loop ceiling. */
export function renderTable(
  seed: SeedSummary,
  results: ScenarioResult[],
  load: Pick<LoadPlan, 'warmup' | 'open' | 'closed'>,
): string {
  const { rate } = load.open;
  const { concurrency } = load.closed;
  const bare = results.find((r) => r.scenario.startsWith('bare'))?.open.p99Ms ?? null;
  const header = [
    'scenario',
    'target',
    'verdict',
    'rate',
    'p50 ms',
    'p99 ms',
    'max ms',
    'achieved req/s',
    `max-throughput req/s (${concurrency} conc.)`,
    'vs bare (p99 ratio)',
    'errors',
  ];
  const rows = results.map((r) => [
    r.scenario,
    r.p99TargetMs === null ? '—' : `p99 < ${r.p99TargetMs} ms`,
    verdict(r),
    `${rate}/s`,
    ms(r.open.p50Ms),
    ms(r.open.p99Ms),
    ms(r.open.maxMs),
    r.open.achievedRps.toFixed(1),
    r.closed.achievedRps.toFixed(0),
    bare && r.open.p99Ms !== null ? `${(r.open.p99Ms / bare).toFixed(1)}×` : '—',
    errorsCell(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const seedVerdict = seed.seconds === 0 ? 'not seeded' : seed.seconds < seed.targetSeconds ? 'met' : 'MISSED';
  const out = [
    `Seed: ${seed.conversations} conversations, ${seed.messages} messages in ${seed.seconds.toFixed(1)} s ` +
      `(target < ${seed.targetSeconds} s: ${seedVerdict})`,
    ...seed.steps.map((s) => `  - ${s}`),
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
    `Each scenario: ${load.warmup.durationSeconds} s closed-loop warm-up (${load.warmup.concurrency} clients), then ` +
      `${load.open.durationSeconds} s open loop at ${rate} req/s, latency from each request's scheduled send time ` +
      `(2xx only; no coordinated omission), then ${load.closed.durationSeconds} s closed loop with ${concurrency} ` +
      `clients for the max throughput. The load generator is its own process. On a shared 2-core machine numbers are noisy.`,
  ];
  const samples = results.filter((r) => r.open.sampleFailure ?? r.closed.sampleFailure);
  for (const r of samples) out.push(`  ${r.scenario}: first failure: ${r.open.sampleFailure ?? r.closed.sampleFailure}`);
  return out.join('\n');
}

/** A plain markdown table (header, separator, rows), each column padded to its widest cell. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
