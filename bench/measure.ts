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

/**
 * CPU seconds of the PostgreSQL backends serving `database` (their process title names it; backends
 * that exit take their time with them, the pools here outlive a phase) and of the Redis server
 * (/proc; Linux only). Other databases' work on the machine is left out; Redis's is not.
 */
export function serverCpuSeconds(database: string): { postgres: number; redis: number } {
  const totals = { postgres: 0, redis: 0 };
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return totals;
  }
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / 100;
    if (comm === 'postgres' && readCmdline(pid).split(' ').includes(database)) totals.postgres += own;
    else if (comm.startsWith('redis-server')) totals.redis += own;
  }
  return totals;
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
