import { Injectable } from '@nestjs/common';
import { uuidv7 } from '#domain';
import type { TenantTx } from '#database';
import { type EndpointRow, endpointFromRaw, type RawEndpoint } from '../endpoints/webhook-endpoints.repository.js';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface DeliveryRow {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  test: boolean;
  replayOf: string | null;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Date | null;
  failureReason: string | null;
  createdAt: Date;
}

export interface AttemptRow {
  deliveryId: string;
  attempt: number;
  attemptedAt: Date;
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
}

export interface NewAttempt {
  attempt: number;
  attemptedAt: Date;
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
}

interface Raw {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  test: boolean;
  replay_of: string | null;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: Date | null;
  failure_reason: string | null;
  created_at: Date;
}

/** A successful try, for recordSucceeded. */
export interface Success {
  deliveryId: string;
  endpointId: string;
  /** A test delivery leaves its endpoint's failing streak alone. */
  test: boolean;
  attempt: number;
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
}

/** A claimed delivery with its endpoint, read in the claiming statement. */
export interface Claimed {
  delivery: DeliveryRow;
  endpoint: EndpointRow;
}

/** The endpoint's columns, prefixed `e_` beside the delivery's in one row. */
const ENDPOINT_COLUMNS = ['id', 'workspace_id', 'url', 'events', 'secret_sealed', 'previous_secret_sealed', 'previous_secret_expires_at', 'failing_since', 'disabled_at', 'disabled_reason', 'created_at', 'updated_at'] as const;

const toRow = (r: Raw): DeliveryRow => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  eventType: r.event_type,
  body: r.body,
  test: r.test,
  replayOf: r.replay_of,
  status: r.status,
  attemptCount: r.attempt_count,
  nextAttemptAt: r.next_attempt_at,
  failureReason: r.failure_reason,
  createdAt: r.created_at,
});

/** A delivery row with its endpoint's columns (`e_` + column) beside it. */
const toClaimed = (r: Raw & Record<string, unknown>): Claimed => ({
  delivery: toRow(r),
  endpoint: endpointFromRaw(Object.fromEntries(ENDPOINT_COLUMNS.map((c) => [c, r[`e_${c}`]])) as unknown as RawEndpoint),
});

/** How long a worker holds a delivery while it calls the endpoint; a crashed worker's hold lapses. */
const CLAIM_SECONDS = 120;

/** Queries of webhook_deliveries and webhook_attempts; every one filters by the transaction's workspace. */
@Injectable()
export class WebhookDeliveriesRepository {
  /**
   * The fan-out in one statement: one pending delivery, due at `at`, per enabled endpoint of the
   * workspace subscribed to the event's type, and per `perBatch` of them one `webhook.deliver_batch`
   * outbox row (id = the batch id, payload = the ids written now). With `claimFirst`, the first batch
   * is written claimed by the caller, who sends it at once (`inline`: its deliveries with their
   * endpoints, as claimDue answers them); the others (`queued`) are left to their jobs. Endpoints that already have a
   * delivery of the event are skipped (fan-out runs again after a crash), and a batch left with none
   * writes no row. `onlyEndpoints` narrows the endpoints to those (the fan-out's hand-off of first tries).
   */
  async fanOut(
    tx: TenantTx,
    event: { id: string; type: string; body: string },
    at: Date,
    perBatch: number,
    claimFirst: boolean,
    onlyEndpoints: string[] | null = null,
  ): Promise<{ inline: { batchId: string; claimed: Claimed[] } | null; queued: Map<string, string[]> }> {
    const rows: Array<Raw & Record<string, unknown> & { batch_id: string; inline: boolean }> = await tx.manager.query(
      `WITH targets AS (
         SELECT e.*, (row_number() OVER (ORDER BY e.id) - 1) / $6 AS chunk
         FROM webhook_endpoints e WHERE e.workspace_id = $1 AND e.disabled_at IS NULL AND $3::text = ANY(e.events)
           AND ($9::uuid[] IS NULL OR e.id = ANY($9::uuid[]))),
       batches AS (SELECT chunk, ferry_uuidv7() AS batch_id FROM (SELECT DISTINCT chunk FROM targets) c),
       written AS (
         INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status, next_attempt_at, batch_id, claimed_until)
         SELECT ferry_uuidv7(), $1::uuid, t.id, $2, $3, $4, 'pending', $5, b.batch_id,
                CASE WHEN $8 AND t.chunk = 0 THEN now() + make_interval(secs => $7) END
         FROM targets t JOIN batches b USING (chunk)
         ON CONFLICT (workspace_id, endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING
         RETURNING *),
       jobs AS (
         INSERT INTO outbox (id, workspace_id, job_name, payload)
         SELECT batch_id, $1::uuid, 'webhook.deliver_batch', jsonb_build_object('workspaceId', $1::uuid::text, 'deliveryIds', jsonb_agg(id::text ORDER BY id))
         FROM written GROUP BY batch_id)
       SELECT w.*, w.claimed_until IS NOT NULL AS inline, ${ENDPOINT_COLUMNS.map((c) => `t.${c} AS e_${c}`).join(', ')}
       FROM written w JOIN targets t ON t.id = w.endpoint_id ORDER BY w.id`,
      [tx.workspaceId, event.id, event.type, event.body, at, perBatch, CLAIM_SECONDS, claimFirst, onlyEndpoints],
    );
    let inline: { batchId: string; claimed: Claimed[] } | null = null;
    const queued = new Map<string, string[]>();
    for (const row of rows) {
      if (row.inline) {
        inline ??= { batchId: row.batch_id, claimed: [] };
        inline.claimed.push(toClaimed(row));
        continue;
      }
      const ids = queued.get(row.batch_id);
      if (ids) ids.push(row.id);
      else queued.set(row.batch_id, [row.id]);
    }
    return { inline, queued };
  }

  async insertOne(
    tx: TenantTx,
    row: { id: string; endpointId: string; eventId: string; eventType: string; body: string; test: boolean; replayOf: string | null; at: Date },
  ): Promise<DeliveryRow> {
    const rows: Raw[] = await tx.manager.query(
      `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, test, replay_of, status, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) RETURNING *`,
      [row.id, tx.workspaceId, row.endpointId, row.eventId, row.eventType, row.body, row.test, row.replayOf, row.at],
    );
    return toRow(rows[0]!);
  }

  async find(tx: TenantTx, id: string): Promise<DeliveryRow | null> {
    const rows: Raw[] = await tx.manager.query(`SELECT * FROM webhook_deliveries WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, id]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  /**
   * Takes a pending delivery for one try, unless another worker holds it (a duplicate job).
   * Answers the delivery when this caller holds it now.
   */
  async claim(tx: TenantTx, id: string): Promise<DeliveryRow | null> {
    const rows: Raw[] = await tx.manager.query(
      `WITH changed AS (UPDATE webhook_deliveries SET claimed_until = now() + make_interval(secs => $3)
       WHERE workspace_id = $1 AND id = $2 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
       RETURNING *) SELECT * FROM changed`,
      [tx.workspaceId, id, CLAIM_SECONDS],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  /**
   * claim() of many, each with its endpoint, in one statement: only those due at `now` (a delivery
   * waiting for its scheduled retry has a job of its own for it), pending, and not held by another
   * worker. A delivery whose endpoint is gone is not taken.
   */
  async claimDue(tx: TenantTx, ids: string[], now: Date): Promise<Claimed[]> {
    if (ids.length === 0) return [];
    const rows: Array<Raw & Record<string, unknown>> = await tx.manager.query(
      `WITH changed AS (UPDATE webhook_deliveries d SET claimed_until = now() + make_interval(secs => $3)
         FROM webhook_endpoints e
         WHERE d.workspace_id = $1 AND d.id = ANY($2::uuid[]) AND d.status = 'pending' AND (d.claimed_until IS NULL OR d.claimed_until < now())
           AND coalesce(d.next_attempt_at, d.created_at) <= $4
           AND e.workspace_id = d.workspace_id AND e.id = d.endpoint_id
         RETURNING d.*, ${ENDPOINT_COLUMNS.map((c) => `e.${c} AS e_${c}`).join(', ')})
       SELECT * FROM changed`,
      [tx.workspaceId, ids, CLAIM_SECONDS, now],
    );
    return rows.map(toClaimed);
  }

  /** claim() of one delivery with its endpoint, in one statement, due or not (the caller decides when). */
  async claimWithEndpoint(tx: TenantTx, id: string): Promise<Claimed | null> {
    const rows: Array<Raw & Record<string, unknown>> = await tx.manager.query(
      `WITH changed AS (UPDATE webhook_deliveries d SET claimed_until = now() + make_interval(secs => $3)
         FROM webhook_endpoints e
         WHERE d.workspace_id = $1 AND d.id = $2 AND d.status = 'pending' AND (d.claimed_until IS NULL OR d.claimed_until < now())
           AND e.workspace_id = d.workspace_id AND e.id = d.endpoint_id
         RETURNING d.*, ${ENDPOINT_COLUMNS.map((c) => `e.${c} AS e_${c}`).join(', ')})
       SELECT * FROM changed`,
      [tx.workspaceId, id, CLAIM_SECONDS],
    );
    return rows[0] ? toClaimed(rows[0]) : null;
  }

  async releaseMany(tx: TenantTx, ids: string[]): Promise<void> {
    await tx.manager.query(`UPDATE webhook_deliveries SET claimed_until = NULL WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [tx.workspaceId, ids]);
  }

  /**
   * Successful tries, recorded in one statement: each one's attempt row, its delivery settled as
   * succeeded, and the failing streak of its endpoint ended.
   */
  async recordSucceeded(tx: TenantTx, successes: Success[]): Promise<void> {
    if (successes.length === 0) return;
    const column = <T>(pick: (s: Success) => T): T[] => successes.map(pick);
    await tx.manager.query(
      `WITH s AS (
         SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::boolean[], $6::int[], $7::timestamptz[], $8::int[], $9::int[], $10::text[])
           AS s(attempt_id, delivery_id, endpoint_id, test, attempt, attempted_at, status_code, latency_ms, response_excerpt)),
       attempts AS (
         INSERT INTO webhook_attempts (id, workspace_id, delivery_id, attempt, attempted_at, succeeded, status_code, latency_ms, response_excerpt, error)
         SELECT attempt_id, $1, delivery_id, attempt, attempted_at, true, status_code, latency_ms, response_excerpt, NULL FROM s),
       settled AS (
         UPDATE webhook_deliveries d SET status = 'succeeded', attempt_count = s.attempt, next_attempt_at = NULL, failure_reason = NULL,
           claimed_until = NULL, updated_at = now()
         FROM s WHERE d.workspace_id = $1 AND d.id = s.delivery_id),
       recovered AS (
         UPDATE webhook_endpoints SET failing_since = NULL
         WHERE workspace_id = $1 AND id IN (SELECT endpoint_id FROM s WHERE NOT test) AND failing_since IS NOT NULL)
       SELECT 1`,
      [
        tx.workspaceId,
        column(() => uuidv7()),
        column((s) => s.deliveryId),
        column((s) => s.endpointId),
        column((s) => s.test),
        column((s) => s.attempt),
        column((s) => s.attemptedAt),
        column((s) => s.statusCode),
        column((s) => s.latencyMs),
        column((s) => s.responseExcerpt),
      ],
    );
  }

  async release(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.query(`UPDATE webhook_deliveries SET claimed_until = NULL WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, id]);
  }

  async insertAttempt(tx: TenantTx, deliveryId: string, attempt: NewAttempt): Promise<void> {
    await tx.manager.query(
      `INSERT INTO webhook_attempts (id, workspace_id, delivery_id, attempt, attempted_at, succeeded, status_code, latency_ms, response_excerpt, error)
       VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [tx.workspaceId, deliveryId, attempt.attempt, attempt.attemptedAt, attempt.succeeded, attempt.statusCode, attempt.latencyMs, attempt.responseExcerpt, attempt.error, uuidv7()],
    );
  }

  /** Records the outcome of a try: settled (succeeded or failed for good) or pending again at `nextAttemptAt`. */
  async settle(
    tx: TenantTx,
    id: string,
    outcome: { status: DeliveryStatus; attemptCount: number; nextAttemptAt: Date | null; failureReason: string | null },
  ): Promise<void> {
    await tx.manager.query(
      `UPDATE webhook_deliveries SET status = $3, attempt_count = $4, next_attempt_at = $5, failure_reason = $6, claimed_until = NULL, updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, id, outcome.status, outcome.attemptCount, outcome.nextAttemptAt, outcome.failureReason],
    );
  }

  /** Keyset page of an endpoint's deliveries, newest first. */
  async listPage(tx: TenantTx, endpointId: string, beforeId: string | null, limit: number): Promise<DeliveryRow[]> {
    const rows: Raw[] = await tx.manager.query(
      `SELECT * FROM webhook_deliveries WHERE workspace_id = $1 AND endpoint_id = $2 AND ($3::uuid IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [tx.workspaceId, endpointId, beforeId, limit],
    );
    return rows.map(toRow);
  }

  async attemptsOf(tx: TenantTx, deliveryIds: string[]): Promise<AttemptRow[]> {
    if (deliveryIds.length === 0) return [];
    const rows: Array<{
      delivery_id: string;
      attempt: number;
      attempted_at: Date;
      succeeded: boolean;
      status_code: number | null;
      latency_ms: number;
      response_excerpt: string | null;
      error: string | null;
    }> = await tx.manager.query(
      `SELECT delivery_id, attempt, attempted_at, succeeded, status_code, latency_ms, response_excerpt, error FROM webhook_attempts
       WHERE workspace_id = $1 AND delivery_id = ANY($2::uuid[]) ORDER BY delivery_id, attempt`,
      [tx.workspaceId, deliveryIds],
    );
    return rows.map((r) => ({
      deliveryId: r.delivery_id,
      attempt: r.attempt,
      attemptedAt: r.attempted_at,
      succeeded: r.succeeded,
      statusCode: r.status_code,
      latencyMs: r.latency_ms,
      responseExcerpt: r.response_excerpt,
      error: r.error,
    }));
  }
}
