import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, type TenantTx } from '#database';

export interface StoredStripeEvent {
  id: string;
  type: string;
  payload: { data?: { object?: Record<string, unknown> } };
  processedAt: Date | null;
}

/** Stripe events, stored by Stripe's id: a redelivered event finds its row and changes nothing. */
@Injectable()
export class StripeEventsRepository {
  constructor(@Inject(DATA_SOURCE) private readonly dataSource: DataSource) {}

  /**
   * The workspace of a Stripe customer, asked before any workspace is set (the event names only the
   * customer): through the one SECURITY DEFINER function that answers exactly this.
   */
  async workspaceOfCustomer(customerId: string): Promise<string | null> {
    const rows: Array<{ workspace_id: string | null }> = await this.dataSource.query('SELECT ferry_billing_route($1) AS workspace_id', [customerId]);
    return rows[0]?.workspace_id ?? null;
  }

  /** Stores the event; false when it was stored before (a redelivery). */
  async insert(tx: TenantTx, event: { id: string; type: string; created: number; payload: unknown }): Promise<boolean> {
    const rows: unknown[] = await tx.manager.query(
      `INSERT INTO stripe_events (id, workspace_id, type, created_at, payload) VALUES ($1, $2, $3, to_timestamp($4), $5)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [event.id, tx.workspaceId, event.type, event.created, JSON.stringify(event.payload)],
    );
    return rows.length > 0;
  }

  async lock(tx: TenantTx, id: string): Promise<StoredStripeEvent | null> {
    const rows: StoredStripeEvent[] = await tx.manager.query(
      `SELECT id, type, payload, processed_at AS "processedAt" FROM stripe_events WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  async markProcessed(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.query(`UPDATE stripe_events SET processed_at = now() WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, id]);
  }
}
