import { Injectable } from '@nestjs/common';
import type { TenantTx } from '#database';

export interface EndpointRow {
  id: string;
  workspaceId: string;
  url: string;
  events: string[];
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A webhook_endpoints row as Postgres answers it. */
export interface RawEndpoint {
  id: string;
  workspace_id: string;
  url: string;
  events: string[];
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export const endpointFromRaw = (r: RawEndpoint): EndpointRow => ({
  id: r.id,
  workspaceId: r.workspace_id,
  url: r.url,
  events: r.events,
  secretSealed: r.secret_sealed,
  previousSecretSealed: r.previous_secret_sealed,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  failingSince: r.failing_since,
  disabledAt: r.disabled_at,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * Queries of webhook_endpoints; every one filters by the transaction's workspace. An UPDATE or DELETE
 * ... RETURNING is wrapped in a CTE: bare, TypeORM answers it as [rows, count].
 */
@Injectable()
export class WebhookEndpointsRepository {
  async insert(tx: TenantTx, row: { id: string; url: string; events: string[]; secretSealed: string }): Promise<EndpointRow> {
    const rows: RawEndpoint[] = await tx.manager.query(
      `INSERT INTO webhook_endpoints (id, workspace_id, url, events, secret_sealed) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [row.id, tx.workspaceId, row.url, row.events, row.secretSealed],
    );
    return endpointFromRaw(rows[0]!);
  }

  async find(tx: TenantTx, id: string): Promise<EndpointRow | null> {
    const rows: RawEndpoint[] = await tx.manager.query(`SELECT * FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, id]);
    return rows[0] ? endpointFromRaw(rows[0]) : null;
  }

  /** Keyset page in creation order (ids are UUIDv7). */
  async listPage(tx: TenantTx, afterId: string | null, limit: number): Promise<EndpointRow[]> {
    const rows: RawEndpoint[] = await tx.manager.query(
      `SELECT * FROM webhook_endpoints WHERE workspace_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [tx.workspaceId, afterId, limit],
    );
    return rows.map(endpointFromRaw);
  }

  async update(tx: TenantTx, id: string, change: { url?: string; events?: string[]; enabled?: boolean }): Promise<EndpointRow | null> {
    const rows: RawEndpoint[] = await tx.manager.query(
      `WITH changed AS (UPDATE webhook_endpoints SET
         url = coalesce($3, url),
         events = coalesce($4, events),
         disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN NULL ELSE coalesce(disabled_at, now()) END,
         disabled_reason = CASE WHEN $5::boolean IS NULL THEN disabled_reason WHEN $5 THEN NULL ELSE coalesce(disabled_reason, 'disabled by a member') END,
         failing_since = CASE WHEN $5::boolean THEN NULL ELSE failing_since END,
         updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING *) SELECT * FROM changed`,
      [tx.workspaceId, id, change.url ?? null, change.events ?? null, change.enabled ?? null],
    );
    return rows[0] ? endpointFromRaw(rows[0]) : null;
  }

  async rotateSecret(tx: TenantTx, id: string, secretSealed: string, previousSealed: string, previousExpiresAt: Date): Promise<EndpointRow | null> {
    const rows: RawEndpoint[] = await tx.manager.query(
      `WITH changed AS (UPDATE webhook_endpoints SET secret_sealed = $3, previous_secret_sealed = $4, previous_secret_expires_at = $5, updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING *) SELECT * FROM changed`,
      [tx.workspaceId, id, secretSealed, previousSealed, previousExpiresAt],
    );
    return rows[0] ? endpointFromRaw(rows[0]) : null;
  }

  async remove(tx: TenantTx, id: string): Promise<boolean> {
    const rows: unknown[] = await tx.manager.query(`WITH changed AS (DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2 RETURNING id) SELECT * FROM changed`, [tx.workspaceId, id]);
    return rows.length > 0;
  }

  /** A success ends a failing streak. */
  async markSucceeded(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.query(`UPDATE webhook_endpoints SET failing_since = NULL WHERE workspace_id = $1 AND id = $2 AND failing_since IS NOT NULL`, [tx.workspaceId, id]);
  }

  /** Starts (or continues) a failing streak; answers when it started. */
  async markFailing(tx: TenantTx, id: string, at: Date): Promise<Date | null> {
    const rows: Array<{ failing_since: Date }> = await tx.manager.query(
      `WITH changed AS (UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $3) WHERE workspace_id = $1 AND id = $2 RETURNING failing_since) SELECT * FROM changed`,
      [tx.workspaceId, id, at],
    );
    return rows[0]?.failing_since ?? null;
  }

  async disable(tx: TenantTx, id: string, at: Date, reason: string): Promise<void> {
    await tx.manager.query(
      `UPDATE webhook_endpoints SET disabled_at = $3, disabled_reason = $4, updated_at = now() WHERE workspace_id = $1 AND id = $2 AND disabled_at IS NULL`,
      [tx.workspaceId, id, at, reason],
    );
  }
}
