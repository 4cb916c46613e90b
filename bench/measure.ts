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
 * CPU seconds of the machine's PostgreSQL and Redis servers (/proc; Linux only): every live process
 * of that name, plus what PostgreSQL's postmaster collected from backends that have exited.
 */
export function serverCpuSeconds(): { postgres: number; redis: number } {
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
    if (comm === 'postgres') {
      const postmaster = fields[1] === '1' || !entries.includes(fields[1]!) || !readComm(fields[1]!).startsWith('postgres');
      totals.postgres += own + (postmaster ? (Number(fields[13]) + Number(fields[14])) / 100 : 0);
    } else if (comm.startsWith('redis-server')) {
      totals.redis += own;
    }
  }
  return totals;
}

function readComm(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
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
