import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { exampleChannelConfig } from '#channels';
import { uuidv7 } from '#domain';
import { QUEUE_NAMES, Queues } from '#queue';
import { type ApiHarness, RedisProcess, seedTenant, type SeededTenant, SimulatorHarness, startReachableApi, WorkerProcess } from '#testing';

/**
 * Delivery under faults: the worker is a real process (killed with SIGKILL and started again), Redis
 * is a redis-server of this test's own (stopped, and started again empty), and the providers (the
 * simulator) fail every other call. Whatever happens, every message ends delivered exactly once at
 * the provider (the simulator counts the sends of each of our message ids: WhatsApp's
 * biz_opaque_callback_data, Twilio's StatusCallback ?messageId=, LINE's X-Line-Retry-Key) or failed
 * with a reason; none is left queued, none is sent twice.
 *
 * Timings are compressed through the configuration (short job locks, in-doubt grace, relay grace).
 */

type Channel = 'whatsapp' | 'sms' | 'line';
const CHANNELS: readonly Channel[] = ['whatsapp', 'sms', 'line'];
const CONVERSATIONS_PER_CHANNEL = 40;
/** How many replies the test keeps in flight against the API. */
const POST_CONCURRENCY = 12;

interface Target {
  channel: Channel;
  conversationId: string;
  identityId: string;
}

interface Posted {
  id: string;
  channel: Channel;
}

interface Row {
  id: string;
  status: string;
  channel: Channel;
  error_code: string | null;
  error_reason: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many rows per channel and status. */
function tally(rows: Row[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[`${row.channel}:${row.status}`] = (counts[`${row.channel}:${row.status}`] ?? 0) + 1;
  return counts;
}

describe('delivery under faults: worker killed, Redis lost, providers failing', () => {
  let redis: RedisProcess;
  let sim: SimulatorHarness;
  let api: ApiHarness;
  let worker: WorkerProcess;
  let tenant: SeededTenant;
  let owner: pg.Client;
  const targets: Target[] = [];
  const accounts = {} as Record<Channel, string>;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    sim = await SimulatorHarness.start();
    api = await startReachableApi({
      REDIS_URL: redis.url,
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_PER_MINUTE: '1000000',
      DATABASE_POOL_SIZE: '10',
      WORKER_CONCURRENCY: '16',
      // A killed worker's jobs are taken over within two lock durations.
      WORKER_LOCK_DURATION_MS: '2000',
      // A send left in doubt waits this long for its receipt before it is sent again.
      DELIVERY_IN_DOUBT_GRACE_MS: '5000',
      DELIVERY_TIMEOUT_MS: '3000',
      OUTBOX_RELAY_INTERVAL_MS: '300',
      OUTBOX_RELAY_GRACE_MS: '1000',
      // A send still queued this long after it was written, its job gone (Redis lost it), is revived.
      OUTBOX_STALLED_AFTER_MS: '8000',
      // Thousands of replies over 120 conversations: WhatsApp's pair rate (test/fallback.e2e-spec.ts) would stretch the run for minutes.
      WHATSAPP_PAIR_INTERVAL_MS: '0',
    });
    worker = await WorkerProcess.start(api.config);
    tenant = await seedTenant(api.config, 'Delivery faults');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();

    const configs: Record<Channel, Record<string, unknown>> = {
      whatsapp: { ...exampleChannelConfig('whatsapp'), apiBaseUrl: `${sim.baseUrl}/v21.0`, sendRatePerSecond: 5000 },
      sms: { ...exampleChannelConfig('sms'), apiBaseUrl: sim.baseUrl, sendRatePerSecond: 5000 },
      line: { ...exampleChannelConfig('line'), apiBaseUrl: sim.baseUrl, sendRatePerSecond: 5000 },
    };
    for (const channel of CHANNELS) {
      const inbox = await api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name: `${channel} faults`, channel, config: configs[channel] } });
      expect(inbox.status, JSON.stringify(inbox.body)).toBe(201);
      accounts[channel] = (await sim.registerAccount({ channel, ...configs[channel], hookUrl: inbox.body.webhookUrl })).id;
      for (let i = 0; i < CONVERSATIONS_PER_CHANNEL; i++) {
        if (channel === 'line') {
          // Started by the agent (no LINE reply token: every send is a push keyed by our id).
          const contact = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, body: { name: `LINE customer ${i}` } });
          const identity = await api.request('POST', `/v1/contacts/${contact.body.id}/identities`, {
            token: tenant.apiKey,
            body: { inboxId: inbox.body.id, externalId: `U${uuidv7().replace(/-/g, '')}` },
          });
          expect(identity.status, JSON.stringify(identity.body)).toBe(201);
          const conversation = await api.request('POST', '/v1/conversations', { token: tenant.apiKey, body: { contactId: contact.body.id } });
          expect(conversation.status, JSON.stringify(conversation.body)).toBe(201);
          targets.push({ channel, conversationId: conversation.body.id, identityId: identity.body.id });
          continue;
        }
        // Started by the customer (which opens WhatsApp's 24 h window, at the provider and in Ferry).
        const text = `Hello from ${channel} customer ${i} ${uuidv7()}`;
        const phone = `+1555${String(7_000_000 + CONVERSATIONS_PER_CHANNEL * CHANNELS.indexOf(channel) + i)}`;
        const written = await sim.inbound(channel, { account: accounts[channel], message: { from: phone, text } });
        expect(written.status, JSON.stringify(written.body)).toBe(200);
        const stored = await vi.waitFor(async () => {
          const { rows } = await owner.query(`SELECT conversation_id AS "conversationId", identity_id AS "identityId" FROM messages WHERE workspace_id = $1 AND body = $2`, [tenant.workspaceId, text]);
          expect(rows).toHaveLength(1);
          return rows[0];
        }, { timeout: 20_000, interval: 50 });
        targets.push({ channel, ...stored });
      }
    }
    // One receipt per send: what resolves a send left in doubt (WhatsApp and Twilio echo our id in it).
    await sim.behaviour('whatsapp', { receipts: ['delivered'] });
    await sim.behaviour('sms', { receipts: ['delivered'] });
  });

  afterAll(async () => {
    await worker?.stop();
    const queues = api?.app.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true }).catch(() => undefined);
    await owner?.end();
    await api?.close();
    await sim?.close();
    await redis?.stop();
  });

  /** Posts `count` replies spread over every conversation, POST_CONCURRENCY at a time; answers the accepted ones. */
  async function postReplies(count: number, tag: string): Promise<Posted[]> {
    const posted: Posted[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        const n = next++;
        const target = targets[n % targets.length]!;
        const response = await api.request('POST', `/v1/conversations/${target.conversationId}/messages`, {
          token: tenant.apiKey,
          body: { type: 'text', body: `${tag} #${n}`, via: { identityId: target.identityId } },
        });
        expect(response.status, JSON.stringify(response.body)).toBe(202);
        posted.push({ id: response.body.id, channel: target.channel });
      }
    };
    await Promise.all(Array.from({ length: POST_CONCURRENCY }, lane));
    return posted;
  }

  async function rowsOf(posted: Posted[]): Promise<Row[]> {
    const { rows } = await owner.query<Row>(
      `SELECT m.id, m.status, i.channel, m.error_code, m.error_reason FROM messages m JOIN inboxes i ON i.id = m.inbox_id WHERE m.id = ANY($1::uuid[])`,
      [posted.map((p) => p.id)],
    );
    return rows;
  }

  /**
   * Waits (bounded) until no message is queued, and every one the provider took has its receipt
   * applied where the provider sends receipts (WhatsApp, SMS: delivered).
   */
  async function settled(posted: Posted[], timeoutMs: number, options: { receipts?: boolean; onTick?: () => Promise<void> } = {}): Promise<Row[]> {
    const { receipts = true, onTick } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await rowsOf(posted);
      const pending = rows.filter((row) => row.status === 'queued' || (receipts && row.status === 'sent' && row.channel !== 'line'));
      if (pending.length === 0) return rows;
      if (Date.now() > deadline) {
        throw new Error(`${pending.length} messages not settled after ${timeoutMs} ms (${JSON.stringify(tally(pending))}); worker log: ${worker.logFile}`);
      }
      await onTick?.();
      await sleep(250);
    }
  }

  /** Every message delivered exactly once at the provider, or failed with a reason and never delivered. */
  async function expectExactlyOnce(posted: Posted[], rows: Row[]): Promise<{ delivered: number; failed: number }> {
    expect(rows).toHaveLength(posted.length);
    const counts: Record<string, number> = {};
    for (const channel of CHANNELS) Object.assign(counts, (await sim.sent(channel)).deliveryCounts);
    const problems: string[] = [];
    let delivered = 0;
    let failed = 0;
    for (const row of rows) {
      const count = counts[row.id] ?? 0;
      if (row.status === 'failed') {
        failed++;
        if (!row.error_code || !row.error_reason) problems.push(`${row.channel} ${row.id}: failed without a reason`);
        if (count !== 0) problems.push(`${row.channel} ${row.id}: failed, yet the provider took it ${count} time(s)`);
      } else if (['sent', 'delivered', 'read'].includes(row.status)) {
        delivered++;
        if (count !== 1) problems.push(`${row.channel} ${row.id}: ${row.status}, taken by the provider ${count} time(s)`);
      } else problems.push(`${row.channel} ${row.id}: ${row.status}`);
    }
    expect(problems, `worker log: ${worker.logFile}`).toEqual([]);
    return { delivered, failed };
  }

  it('loses and doubles nothing while the worker is killed (SIGKILL) again and again during a 2,000-message run', async () => {
    const posting = postReplies(2000, `kill run ${uuidv7()}`);
    let kills = 0;
    const killing = (async () => {
      for (; kills < 5; kills++) {
        await sleep(1000 + Math.random() * 1000);
        await worker.kill('SIGKILL');
        await worker.restart();
      }
    })();
    const [posted] = await Promise.all([posting, killing]);
    expect(kills).toBe(5);
    expect(worker.pids).toHaveLength(6);

    const rows = await settled(posted, 60_000);
    const { delivered } = await expectExactlyOnce(posted, rows);
    // Nothing failed here (no provider error was scripted): every message reached its customer once.
    expect(delivered).toBe(2000);
    expect(Object.keys(tally(rows)).sort()).toEqual(['line:sent', 'sms:delivered', 'whatsapp:delivered']);
    // The kills did catch sends in flight: tries left open, then settled by the provider's receipt
    // (no response recorded), answered 409 by LINE (its retry key: already accepted), or sent again
    // after the grace because the provider never got them.
    const { rows: caught } = await owner.query(
      `SELECT count(*)::int AS n FROM delivery_attempts
       WHERE message_id = ANY($1::uuid[]) AND (status = 'unconfirmed' OR response_code IS NULL OR response_code = '409')`,
      [posted.map((p) => p.id)],
    );
    expect(caught[0].n).toBeGreaterThan(0);
  }, 150_000);

  it('loses and doubles nothing when Redis goes away and comes back empty in the middle of a run', async () => {
    // Slow providers (two seconds a call: 8 sends a second at most), so that hundreds of jobs wait in Redis when it goes.
    for (const channel of CHANNELS) await sim.behaviour(channel, { mode: 'slow', delayMs: 2000, ...(channel === 'line' ? {} : { receipts: ['delivered'] }) });
    const first = await postReplies(400, `redis run ${uuidv7()}`);
    const queued = (await rowsOf(first)).filter((row) => row.status === 'queued').length;
    expect(queued, 'a backlog waits in Redis when it goes').toBeGreaterThan(100);
    await redis.stop();
    for (const channel of CHANNELS) await sim.behaviour(channel, { mode: 'ok', ...(channel === 'line' ? {} : { receipts: ['delivered'] }) });
    // The API keeps taking replies (the outbox holds them); the worker finishes the sends it holds.
    const during = await postReplies(100, `redis down ${uuidv7()}`);
    await sleep(2000);
    await redis.restart();
    const posted = [...first, ...during];
    // A receipt whose job Redis lost is never applied (only sends are revived): sent is as far as those get.
    const rows = await settled(posted, 60_000, { receipts: false });
    const { delivered } = await expectExactlyOnce(posted, rows);
    expect(delivered).toBe(500);
  }, 120_000);

  it('delivers every message once or fails it with a reason when the providers fail every other call', async () => {
    for (const channel of CHANNELS) await sim.behaviour(channel, { mode: 'fail-half', ...(channel === 'line' ? {} : { receipts: ['delivered'] }) });
    const posted = await postReplies(300, `fail-half run ${uuidv7()}`);
    // Retries back off exponentially from one second; the test brings each retry forward instead of waiting.
    const outbound = api.app.get(Queues).get('outbound');
    const rows = await settled(posted, 60_000, { onTick: () => outbound.promoteJobs().catch(() => undefined) });
    const { delivered, failed } = await expectExactlyOnce(posted, rows);
    expect(delivered + failed).toBe(300);
    expect(delivered).toBeGreaterThan(250);
    const retried = await owner.query(`SELECT count(DISTINCT message_id)::int AS n FROM delivery_attempts WHERE message_id = ANY($1::uuid[]) AND status = 'retrying'`, [posted.map((p) => p.id)]);
    expect(retried.rows[0].n, 'the failures were seen and retried').toBeGreaterThan(50);
    for (const channel of CHANNELS) await sim.behaviour(channel, { mode: 'ok', ...(channel === 'line' ? {} : { receipts: ['delivered'] }) });
  }, 120_000);
});
