import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Running } from './delivery-processes.js';

/** The q-quantile of ascending `sorted` (nearest rank), or null when there is nothing. */
export function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** CPU seconds of this driver and of each child (/proc; Linux only). */
export function cpuSeconds(children: Running[]): Record<string, number> {
  const usage = process.cpuUsage();
  const seconds: Record<string, number> = { driver: (usage.user + usage.system) / 1e6 };
  for (const child of children) {
    try {
      const fields = readFileSync(`/proc/${child.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      seconds[child.name] = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // not on Linux, or gone
    }
  }
  return seconds;
}

/** How often the backends of a measured database are looked at, so the time of one that exits is kept. */
const SAMPLE_MS = 1000;

/** One database's backends as last seen: each one's CPU seconds, and the total of those gone since. */
interface Backends {
  seen: Map<string, number>;
  retired: number;
  timer: NodeJS.Timeout;
}

const measured = new Map<string, Backends>();
/** The measured database a PostgreSQL process was found to serve (from its title). */
const databaseOf = new Map<string, string>();

/**
 * CPU seconds of the PostgreSQL backends serving `database` (their process title names it) and of the
 * Redis server (/proc; Linux only), as running totals: call it at a phase's start and end and subtract.
 * A pool closes idle connections, so backends come and go during a phase; their seconds are sampled
 * every SAMPLE_MS from the first call on and kept when they exit (what one does in its last SAMPLE_MS
 * is lost, as is one born and gone in between). Other databases' work on the machine is left out;
 * Redis's is not.
 */
export function serverCpuSeconds(database: string): { postgres: number; redis: number } {
  let backends = measured.get(database);
  if (!backends) {
    backends = { seen: new Map(), retired: 0, timer: setInterval(() => sample(database), SAMPLE_MS).unref() };
    measured.set(database, backends);
  }
  const redis = sample(database);
  let postgres = backends.retired;
  for (const seconds of backends.seen.values()) postgres += seconds;
  return { postgres, redis };
}

/** Updates the database's backends (answers the Redis server's CPU seconds, read on the way). */
function sample(database: string): number {
  const backends = measured.get(database)!;
  const alive = new Set<string>();
  let redis = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return 0;
  }
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (comm !== 'postgres' && !comm.startsWith('redis-server')) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / 100;
    if (comm !== 'postgres') {
      redis += own;
      continue;
    }
    // Matches are kept; others are read again (a backend just forked may not have its title yet).
    if (databaseOf.get(pid) !== database) {
      if (!readCmdline(pid).split(' ').includes(database)) continue;
      databaseOf.set(pid, database);
    }
    alive.add(pid);
    backends.seen.set(pid, own);
  }
  for (const [pid, seconds] of backends.seen) {
    if (alive.has(pid)) continue;
    backends.retired += seconds;
    backends.seen.delete(pid);
    databaseOf.delete(pid);
  }
  return redis;
}

function readCmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Deletes a bench's own keys (`pattern` carries its prefix): the queues and slots of earlier runs. */
export async function clearRedisKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
