import { Injectable } from '@nestjs/common';
import { uuidv7 } from '#domain';
import type { TenantTx } from '#database';
import { type EndpointRow, endpointFromRaw, type RawEndpoint } from '../endpoints/webhook-endpoints.repository.js';

/** A first try that succeeded before its delivery was written: the delivery is written with it. */
export interface FirstSuccess {
  deliveryId: string;
  endpointId: string;
  event: { id: string; type: string; body: string };
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
}

/** The statements of the fan-out's first tries (WebhookFanout); every one filters by the transaction's workspace. */
@Injectable()
export class WebhookFirstTriesRepository {
  /**
   * The enabled endpoints subscribed to the event's type that have no delivery of it yet (a re-run
   * skips the rest); read at the transaction's commit (tx.atCommit: several workspaces' events are
   * read in one transaction), so `work` must not wait for it.
   */
  async targets(tx: TenantTx, event: { id: string; type: string }): Promise<EndpointRow[]> {
    const rows = (await tx.atCommit(
      `SELECT e.* FROM webhook_endpoints e
       WHERE e.workspace_id = $1 AND e.disabled_at IS NULL AND $3::text = ANY(e.events)
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                         WHERE d.workspace_id = e.workspace_id AND d.endpoint_id = e.id AND d.event_id = $2 AND d.replay_of IS NULL)
       ORDER BY e.id`,
      [tx.workspaceId, event.id, event.type],
    )) as RawEndpoint[];
    return rows.map(endpointFromRaw);
  }

  /**
   * First tries that succeeded, in one statement run at the transaction's commit (tx.atCommit: it is
   * written with several workspaces' in one transaction): each delivery written settled, its attempt,
   * and the failing streak of its endpoint ended. A delivery another run wrote meanwhile is left as it
   * is, with no attempt added to it.
   */
  recordSucceeded(tx: TenantTx, tries: FirstSuccess[]): void {
    if (tries.length === 0) return;
    const column = <T>(pick: (s: FirstSuccess) => T): T[] => tries.map(pick);
    void tx.atCommit(
      `WITH s AS (
         SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[], $8::int[], $9::int[], $10::text[], $11::uuid[])
           AS s(delivery_id, endpoint_id, event_id, event_type, body, attempted_at, status_code, latency_ms, response_excerpt, attempt_id)),
       written AS (
         INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status, attempt_count, next_attempt_at)
         SELECT delivery_id, $1, endpoint_id, event_id, event_type, body, 'succeeded', 1, NULL FROM s
         ON CONFLICT (workspace_id, endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING
         RETURNING id),
       attempts AS (
         INSERT INTO webhook_attempts (id, workspace_id, delivery_id, attempt, attempted_at, succeeded, status_code, latency_ms, response_excerpt, error)
         SELECT s.attempt_id, $1, s.delivery_id, 1, s.attempted_at, true, s.status_code, s.latency_ms, s.response_excerpt, NULL
         FROM s JOIN written w ON w.id = s.delivery_id),
       recovered AS (
         UPDATE webhook_endpoints SET failing_since = NULL
         WHERE workspace_id = $1 AND id IN (SELECT endpoint_id FROM s) AND failing_since IS NOT NULL)
       SELECT 1`,
      [
        tx.workspaceId,
        column((s) => s.deliveryId),
        column((s) => s.endpointId),
        column((s) => s.event.id),
        column((s) => s.event.type),
        column((s) => s.event.body),
        column((s) => s.attemptedAt),
        column((s) => s.statusCode),
        column((s) => s.latencyMs),
        column((s) => s.responseExcerpt),
        column(() => uuidv7()),
      ],
    );
  }
}
