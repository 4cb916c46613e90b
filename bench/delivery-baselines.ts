import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { uuidv7 } from '#domain';

/**
 * What the machine does without Ferry, measured in the same run beside Ferry's numbers: BullMQ adding
 * and processing no-op jobs, and PostgreSQL inserting single rows each in its own transaction (the
 * unit of work a hook or a send commits). Ferry's rates read against these.
 */

export interface BaselineResult {
  count: number;
  perSecond: number;
  seconds: number;
}

/** `count` jobs added one by one by `producers` concurrent callers, processed by a no-op worker (concurrency 16). */
export async function bareBullmq(redisUrl: string, prefix: string, count: number, producers = 32): Promise<BaselineResult> {
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const consumer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bare', { connection: producer, prefix });
  let processed = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const worker = new Worker(
    'bare',
    async () => {
      processed += 1;
      if (processed === count) resolveDone();
    },
    { connection: consumer, prefix, concurrency: 16 },
  );
  try {
    await worker.waitUntilReady();
    const started = performance.now();
    let next = 0;
    const add = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        await queue.add('noop', { i }, { jobId: uuidv7(), removeOnComplete: true, removeOnFail: true });
      }
    };
    await Promise.all(Array.from({ length: producers }, add));
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 120_000))]);
    const seconds = (performance.now() - started) / 1000;
    return { count: processed, perSecond: processed / seconds, seconds };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}

/** `count` single-row INSERTs, each its own transaction, from `clients` concurrent callers on a pool of 20. */
export async function barePostgres(databaseUrl: string, count: number, clients = 32): Promise<BaselineResult> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  try {
    await pool.query(`DROP TABLE IF EXISTS bench_bare_insert`);
    // Shaped like a message row: a uuid key, a text body, a jsonb column, a timestamp.
    await pool.query(`CREATE TABLE bench_bare_insert (id uuid PRIMARY KEY, body text NOT NULL, meta jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
    const started = performance.now();
    let next = 0;
    const insert = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        await pool.query(`INSERT INTO bench_bare_insert (id, body, meta) VALUES ($1, $2, $3)`, [uuidv7(), `bare insert ${i}`, JSON.stringify({ i })]);
      }
    };
    await Promise.all(Array.from({ length: clients }, insert));
    const seconds = (performance.now() - started) / 1000;
    return { count, perSecond: count / seconds, seconds };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS bench_bare_insert`).catch(() => undefined);
    await pool.end();
  }
}
