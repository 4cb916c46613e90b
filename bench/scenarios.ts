import pg from 'pg';
import type { FerryConfig } from '#config';
import { encodeCursor } from '#domain';
import type { RequestSpec } from './protocol.js';
import { CONTACT_QUERIES, ENGLISH_WORDS, MESSAGE_QUERIES } from './words.js';

export interface Scenario {
  name: string;
  /** The target, when it sets one: p99 under this many milliseconds at the open-loop rate. */
  p99TargetMs?: number;
  /** Which server answers: the API or the bare Fastify baseline. */
  server: 'api' | 'bare';
  requests: RequestSpec[];
}

const SAMPLE = 2000;

/** The requests of each scenario, drawn from the seeded rows (random conversations, a deep cursor). */
export async function buildScenarios(config: FerryConfig, workspaceId: string, conversations: number): Promise<Scenario[]> {
  const client = new pg.Client({ connectionString: config.database.url, application_name: 'ferry-bench' });
  await client.connect();
  try {
    const sample = await client.query<{ id: string }>(
      `SELECT id FROM conversations WHERE workspace_id = $1 ORDER BY random() LIMIT $2`,
      [workspaceId, SAMPLE],
    );
    const ids = sample.rows.map((row) => row.id);
    // OFFSET is fine here: it runs once, to find the row half-way down the list order.
    // The key is written as the API writes it: microseconds, UTC.
    const deep = await client.query<{ id: string; key: string }>(
      `SELECT id, to_char(last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS key
       FROM conversations WHERE workspace_id = $1
       ORDER BY last_activity_at DESC, id DESC OFFSET $2 LIMIT 1`,
      [workspaceId, Math.floor(conversations / 2)],
    );
    const deepRow = deep.rows[0];
    if (!deepRow) throw new Error('the bench database has no conversations');
    const cursor = encodeCursor({ key: deepRow.key, id: deepRow.id });
    const get = (path: string): RequestSpec => ({ method: 'GET', path });
    return [
      { name: 'bare Fastify route', server: 'bare', requests: [get('/ping')] },
      {
        name: 'conversations: first page',
        p99TargetMs: 20,
        server: 'api',
        requests: [get('/v1/conversations?limit=25')],
      },
      {
        name: `conversations: deep cursor (~${Math.floor(conversations / 2)} rows)`,
        p99TargetMs: 20,
        server: 'api',
        requests: [get(`/v1/conversations?limit=25&cursor=${cursor}`)],
      },
      {
        name: 'messages: page of 50',
        p99TargetMs: 20,
        server: 'api',
        requests: ids.map((id) => get(`/v1/conversations/${id}/messages?limit=50`)),
      },
      {
        name: 'search conversations ?q=',
        server: 'api',
        requests: MESSAGE_QUERIES.map((q) => get(`/v1/conversations?limit=25&q=${encodeURIComponent(q)}`)),
      },
      {
        name: 'search contacts ?q=',
        server: 'api',
        requests: CONTACT_QUERIES.map((q) => get(`/v1/contacts?limit=25&q=${encodeURIComponent(q)}`)),
      },
      {
        name: 'POST message',
        p99TargetMs: 30,
        server: 'api',
        requests: ids.map((id, n) => ({
          method: 'POST',
          path: `/v1/conversations/${id}/messages`,
          body: JSON.stringify({ type: 'text', body: replyText(n) }),
        })),
      },
    ];
  } finally {
    await client.end();
  }
}

function replyText(n: number): string {
  const words = Array.from({ length: 6 + (n % 10) }, (_, i) => ENGLISH_WORDS[(n * 31 + i * 17) % ENGLISH_WORDS.length]);
  return `${words.join(' ')}.`;
}
