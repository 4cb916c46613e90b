import pg from 'pg';
import type { FerryConfig } from '#config';
import { migrate } from '#database';
import { uuidv7 } from '#domain';
import { mintApiKey } from '#identity';
import {
  CHINESE_GIVEN_NAMES,
  CHINESE_SURNAMES,
  CHINESE_WORDS,
  ENGLISH_WORDS,
  FIRST_NAMES,
  LABELS,
  LAST_NAMES,
  RARE_WORDS,
  THAI_WORDS,
} from './words.js';

export const MESSAGES_PER_CONVERSATION = 10;

export interface SeededWorkspace {
  workspaceId: string;
  memberId: string;
  inboxId: string;
  apiKey: string;
  conversations: number;
  messages: number;
  seconds: number;
  /** One line per phase, with its time: what the seed did and how (printed under the table). */
  steps: string[];
}

/**
 * Drops and recreates the bench database, migrates it, and fills one workspace with `conversations`
 * contacts, conversations and ten messages each, in set-based SQL on the owner connection.
 */
export async function seedBenchDatabase(config: FerryConfig, conversations: number): Promise<SeededWorkspace> {
  const started = performance.now();
  const steps: string[] = [];
  const step = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await work();
    steps.push(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };

  await step('drop and recreate the database, migrate', async () => {
    await dropDatabase(config.database.url);
    await migrate(config);
  });

  const client = new pg.Client({ connectionString: config.database.url, application_name: 'ferry-bench-seed' });
  await client.connect();
  try {
    // The seed is a bulk load: nothing here must survive a crash, and index builds want memory.
    await client.query(`SET synchronous_commit = off`);
    await client.query(`SET maintenance_work_mem = '512MB'`);
    await client.query(`SET work_mem = '64MB'`);
    const tenant = await step('workspace, owner, API key, api inbox', () => seedTenant(client));
    await client.query(`SELECT set_config('app.workspace_id', $1, false)`, [tenant.workspaceId]);
    await createHelpers(client);

    const ginIndexes = await step(
      'bulk-load mode: drop the GIN indexes, foreign-key triggers off (session_replication_role = replica)',
      async () => {
        const dropped = await dropGinIndexes(client);
        // Foreign keys are checked by per-row triggers, most of the insert time; the plan makes
        // every reference valid by construction.
        await client.query(`SET session_replication_role = replica`);
        return dropped;
      },
    );
    await step(`plan ${conversations} conversations`, () => planConversations(client, conversations));
    await step('insert contacts and identities', () => insertContacts(client, tenant));
    await step('insert conversations', () => insertConversations(client, tenant));
    const messages = await step(`insert ${conversations * MESSAGES_PER_CONVERSATION} messages`, () =>
      insertMessages(client, tenant),
    );
    await client.query(`SET session_replication_role = origin`);
    for (const index of ginIndexes) {
      await step(`recreate ${index.name} (same definition as the migration)`, () => client.query(index.definition));
    }
    await step('VACUUM ANALYZE', () => client.query('VACUUM ANALYZE'));
    return {
      ...tenant,
      conversations,
      messages,
      seconds: (performance.now() - started) / 1000,
      steps,
    };
  } finally {
    await client.end();
  }
}

/**
 * The workspace a previous run seeded, with a fresh API key (keys are shown once, so the old one is
 * gone): for iterating on an endpoint's speed without paying for the seed each time.
 */
export async function reuseBenchDatabase(config: FerryConfig): Promise<SeededWorkspace> {
  const client = new pg.Client({ connectionString: config.database.url, application_name: 'ferry-bench-seed' });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`BENCH_REUSE: no bench database to reuse (${(error as Error).message}); run without it first`, {
      cause: error,
    });
  }
  try {
    const { rows } = await client.query<{ workspace_id: string; member_id: string; inbox_id: string }>(`
      SELECT w.id AS workspace_id, m.id AS member_id, i.id AS inbox_id FROM workspaces w
      JOIN members m ON m.workspace_id = w.id AND m.role = 'owner'
      JOIN inboxes i ON i.workspace_id = w.id AND i.channel = 'api'
      WHERE w.name = 'Bench workspace' LIMIT 1`);
    const found = rows[0];
    if (!found) throw new Error('BENCH_REUSE: the bench database has no seeded workspace; run without it first');
    const minted = mintApiKey(found.workspace_id);
    await client.query(
      `INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, created_by) VALUES ($1, $2, 'bench', $3, $4, $5)`,
      [uuidv7(), found.workspace_id, minted.prefix, minted.hash, found.member_id],
    );
    const counts = await client.query<{ conversations: number; messages: number }>(
      `SELECT (SELECT count(*) FROM conversations WHERE workspace_id = $1)::int AS conversations,
              (SELECT count(*) FROM messages WHERE workspace_id = $1)::int AS messages`,
      [found.workspace_id],
    );
    return {
      workspaceId: found.workspace_id,
      memberId: found.member_id,
      inboxId: found.inbox_id,
      apiKey: minted.key,
      conversations: counts.rows[0]?.conversations ?? 0,
      messages: counts.rows[0]?.messages ?? 0,
      seconds: 0,
      steps: ['reused the database of an earlier run (BENCH_REUSE=1): not seeded, not timed'],
    };
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

type Tenant = Pick<SeededWorkspace, 'workspaceId' | 'memberId' | 'inboxId' | 'apiKey'>;

/** The same rows as the test fixture seedTenant (libs/testing), plus the 'api' inbox. */
export async function seedTenant(client: pg.Client): Promise<Tenant> {
  const workspaceId = uuidv7();
  const userId = uuidv7();
  const memberId = uuidv7();
  const inboxId = uuidv7();
  const minted = mintApiKey(workspaceId);
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.workspace_id', $1, true)`, [workspaceId]);
  await client.query('INSERT INTO workspaces (id, name) VALUES ($1, $2)', [workspaceId, 'Bench workspace']);
  await client.query(`INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`, [
    userId,
    `owner-${userId}@example.test`,
    'Owner',
  ]);
  await client.query(`INSERT INTO members (id, workspace_id, user_id, role) VALUES ($1, $2, $3, 'owner')`, [
    memberId,
    workspaceId,
    userId,
  ]);
  await client.query(
    `INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, created_by) VALUES ($1, $2, 'bench', $3, $4, $5)`,
    [uuidv7(), workspaceId, minted.prefix, minted.hash, memberId],
  );
  await client.query(
    `INSERT INTO inboxes (id, workspace_id, name, channel, config) VALUES ($1, $2, 'Bench API', 'api', '{}')`,
    [inboxId, workspaceId],
  );
  await client.query('COMMIT');
  return { workspaceId, memberId, inboxId, apiKey: minted.key };
}

/** Session-local helpers: a UUIDv7 for a given time (ids sort like the app's), and word picking. */
async function createHelpers(client: pg.Client): Promise<void> {
  await client.query(`
    CREATE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
      SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM ts) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1),
        'hex')::uuid $$`);
  await client.query(`
    CREATE FUNCTION pg_temp.pick(words text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
      SELECT words[1 + floor(random() * cardinality(words))::int] $$`);
}

interface GinIndex {
  name: string;
  definition: string;
}

/**
 * Maintaining GIN indexes row by row is most of the cost of a bulk load; building them once at the
 * end is several times faster. Their definitions are read from the migrated schema, so they come
 * back exactly as the migration made them.
 */
async function dropGinIndexes(client: pg.Client): Promise<GinIndex[]> {
  const { rows } = await client.query<{ indexname: string; indexdef: string }>(`
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = 'public' AND tablename IN ('contacts', 'conversations', 'messages') AND indexdef ILIKE '% USING gin %'
    ORDER BY indexname`);
  for (const row of rows) await client.query(`DROP INDEX ${pg.escapeIdentifier(row.indexname)}`);
  return rows.map((row) => ({ name: row.indexname, definition: row.indexdef }));
}

/**
 * One row per customer relationship: when it was last active (up to 180 days ago, whole
 * milliseconds like the app's clock), the spacing of its messages, and the random draws that shape
 * its contact and conversation. Ids are UUIDv7 of the row's own time, as the app would mint them.
 */
async function planConversations(client: pg.Client, count: number): Promise<void> {
  await client.query(
    `
    CREATE TEMP TABLE plan AS
    SELECT s.*,
      pg_temp.uuid7(s.started - interval '2 days') AS contact_id,
      pg_temp.uuid7(s.started - interval '2 days') AS identity_id,
      pg_temp.uuid7(s.started) AS conversation_id,
      CASE s.lang
        WHEN 'zh' THEN pg_temp.pick($2) || pg_temp.pick($3)
        ELSE pg_temp.pick($4) || ' ' || pg_temp.pick($5)
      END AS name
    FROM (
      SELECT i, la, gap, date_trunc('milliseconds', la - gap * ${MESSAGES_PER_CONVERSATION - 1}) AS started,
        CASE WHEN r_lang < 0.2 THEN 'zh' WHEN r_lang < 0.3 THEN 'th' ELSE 'en' END AS lang,
        CASE WHEN r_status < 0.4 THEN 'resolved' WHEN r_status < 0.7 THEN 'open'
             WHEN r_status < 0.9 THEN 'pending' ELSE 'snoozed' END AS status,
        random() AS r_assignee, random() AS r_priority, random() AS r_labels,
        floor(random() * cardinality($1::text[]))::int AS label_a,
        1 + floor(random() * (cardinality($1::text[]) - 1))::int AS label_step
      FROM (
        SELECT i, date_trunc('milliseconds', now() - random() * interval '180 days') AS la,
          (1 + random() * 119) * interval '1 minute' AS gap, random() AS r_lang, random() AS r_status
        FROM generate_series(1, $6::int) AS i
      ) AS raw
    ) AS s`,
    [LABELS, CHINESE_SURNAMES, CHINESE_GIVEN_NAMES, FIRST_NAMES, LAST_NAMES, count],
  );
}

async function insertContacts(client: pg.Client, tenant: Tenant): Promise<void> {
  await client.query(
    `
    INSERT INTO contacts (id, workspace_id, name, email, phone, language, country, created_at, updated_at)
    SELECT contact_id, $1, name, 'guest' || i || '@example.test', '+1555' || lpad(i::text, 7, '0'), lang,
      CASE lang WHEN 'zh' THEN 'CN' WHEN 'th' THEN 'TH' ELSE 'US' END,
      started - interval '2 days', la
    FROM plan ORDER BY started`,
    [tenant.workspaceId],
  );
  await client.query(
    `
    INSERT INTO contact_identities
      (id, workspace_id, contact_id, inbox_id, channel, external_id, display_name, last_inbound_at, created_at)
    SELECT identity_id, $1, contact_id, $2, 'api', 'customer-' || i, name,
      date_trunc('milliseconds', la - gap), started - interval '2 days'
    FROM plan ORDER BY started`,
    [tenant.workspaceId, tenant.inboxId],
  );
}

async function insertConversations(client: pg.Client, tenant: Tenant): Promise<void> {
  await client.query(
    `
    INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, priority, labels, snoozed_until,
      last_inbox_id, last_activity_at, created_at, updated_at, resolved_at)
    SELECT conversation_id, $1, contact_id, status,
      CASE WHEN r_assignee < 0.3 THEN $2::uuid END,
      (ARRAY['none', 'none', 'none', 'low', 'medium', 'high', 'urgent'])[1 + floor(r_priority * 7)::int],
      CASE WHEN r_labels < 0.4 THEN '{}'::text[]
           WHEN r_labels < 0.8 THEN ARRAY[($4::text[])[1 + label_a]]
           ELSE ARRAY[($4::text[])[1 + label_a], ($4::text[])[1 + (label_a + label_step) % cardinality($4::text[])]] END,
      CASE WHEN status = 'snoozed' THEN date_trunc('milliseconds', now() + random() * interval '7 days') END,
      $3, la, started, la,
      CASE WHEN status = 'resolved' THEN la END
    FROM plan ORDER BY started`,
    [tenant.workspaceId, tenant.memberId, tenant.inboxId, LABELS],
  );
}

/**
 * Ten messages a conversation, alternating customer and agent, in the contact's language. Bodies
 * draw 4 to 15 words per message; rare words turn up in well under 1% of them.
 */
async function insertMessages(client: pg.Client, tenant: Tenant): Promise<number> {
  const result = await client.query(
    `
    INSERT INTO messages (id, workspace_id, conversation_id, direction, type, body, status, identity_id, inbox_id,
      sender_member_id, external_id, created_at, updated_at)
    SELECT pg_temp.uuid7(t), $1, conversation_id,
      CASE WHEN k % 2 = 1 THEN 'in' ELSE 'out' END, 'text', body,
      CASE WHEN k % 2 = 1 THEN 'received' WHEN k = ${MESSAGES_PER_CONVERSATION} THEN 'delivered' ELSE 'read' END,
      identity_id, $2, CASE WHEN k % 2 = 0 THEN $3::uuid END,
      CASE WHEN k % 2 = 1 THEN 'provider-' || i || '-' || k END,
      t, t
    FROM (
      SELECT p.i, p.conversation_id, p.identity_id, k,
        date_trunc('milliseconds', p.la - p.gap * (${MESSAGES_PER_CONVERSATION} - k)) AS t,
        CASE p.lang
          WHEN 'zh' THEN (SELECT string_agg(CASE WHEN random() < 0.05 THEN pg_temp.pick($5) ELSE pg_temp.pick($6) END, '')
                          FROM generate_series(1, 3 + (p.i + k) % 8))
          WHEN 'th' THEN (SELECT string_agg(pg_temp.pick($7), ' ') FROM generate_series(1, 3 + (p.i + k) % 6))
          ELSE (SELECT string_agg(CASE WHEN random() < 0.004 THEN pg_temp.pick($4) ELSE pg_temp.pick($5) END, ' ')
                FROM generate_series(1, 4 + (p.i + k) % 12))
        END AS body
      FROM plan p CROSS JOIN generate_series(1, ${MESSAGES_PER_CONVERSATION}) AS k
    ) AS m
    ORDER BY t`,
    [tenant.workspaceId, tenant.inboxId, tenant.memberId, RARE_WORDS, ENGLISH_WORDS, CHINESE_WORDS, THAI_WORDS],
  );
  return result.rowCount ?? 0;
}
