import { Injectable } from '@nestjs/common';
import { uuidv7 } from '#domain';
import type { TenantTx } from '#database';

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

/** How long a worker holds a delivery while it calls the endpoint; a crashed worker's hold lapses. */
const CLAIM_SECONDS = 120;

/** Queries of webhook_deliveries and webhook_attempts; every one filters by the transaction's workspace. */
@Injectable()
export class WebhookDeliveriesRepository {
  /**
   * One pending delivery per endpoint for the event; endpoints that already have one are skipped
   * (fan-out runs again after a crash). Answers the ids written now.
   */
  async insertForEndpoints(
    tx: TenantTx,
    deliveries: Array<{ id: string; endpointId: string }>,
    event: { id: string; type: string; body: string },
    at: Date,
  ): Promise<string[]> {
    if (deliveries.length === 0) return [];
    const rows: Array<{ id: string }> = await tx.manager.query(
      `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status, next_attempt_at)
       SELECT d.id, $1, d.endpoint_id, $4, $5, $6, 'pending', $7
       FROM unnest($2::uuid[], $3::uuid[]) AS d(id, endpoint_id)
       ON CONFLICT (workspace_id, endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING
       RETURNING id`,
      [tx.workspaceId, deliveries.map((d) => d.id), deliveries.map((d) => d.endpointId), event.id, event.type, event.body, at],
    );
    return rows.map((r) => r.id);
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
