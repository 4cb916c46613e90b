import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { DomainError } from '#domain';
import { IdempotencyKeyEntity, TenantDb } from '#database';

const MAX_KEY_LENGTH = 255;

export interface StoredResponse {
  statusCode: number;
  response: unknown;
}

/** Idempotency keys in Postgres, unique per workspace and key. */
@Injectable()
export class IdempotencyStore {
  constructor(private readonly db: TenantDb) {}

  static fingerprint(method: string, url: string, body: unknown): string {
    return createHash('sha256').update(`${method} ${url}\n${JSON.stringify(body ?? null)}`).digest('hex');
  }

  /** Claims the key; returns the stored response when this is a replay. */
  async begin(workspaceId: string, key: string, fingerprint: string): Promise<StoredResponse | null> {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw DomainError.invalid('idempotency.invalid_key', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
    }
    return this.db.run(workspaceId, async ({ manager }) => {
      await manager.query(
        `DELETE FROM idempotency_keys WHERE workspace_id = $1 AND key = $2 AND created_at < now() - interval '24 hours'`,
        [workspaceId, key],
      );
      const inserted: unknown[] = await manager.query(
        `INSERT INTO idempotency_keys (workspace_id, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id, key) DO NOTHING RETURNING key`,
        [workspaceId, key, fingerprint],
      );
      if (inserted.length > 0) return null;
      const earlier = await manager.findOneByOrFail(IdempotencyKeyEntity, { workspaceId, key });
      if (earlier.requestHash !== fingerprint) {
        throw new DomainError('idempotency.key_reused', 'unprocessable', 'This Idempotency-Key was used with a different request');
      }
      if (earlier.statusCode === null) {
        throw DomainError.conflict('idempotency.in_progress', 'A request with this Idempotency-Key is still in progress');
      }
      return { statusCode: earlier.statusCode, response: earlier.response };
    });
  }

  async complete(workspaceId: string, key: string, statusCode: number, response: unknown): Promise<void> {
    await this.db.run(workspaceId, ({ manager }) =>
      manager.update(IdempotencyKeyEntity, { workspaceId, key }, { statusCode, response: (response ?? null) as object }),
    );
  }

  /** The request failed: free the key so the client can retry it. */
  async abandon(workspaceId: string, key: string): Promise<void> {
    await this.db.run(workspaceId, ({ manager }) => manager.delete(IdempotencyKeyEntity, { workspaceId, key, statusCode: IsNull() }));
  }
}
