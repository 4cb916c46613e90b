import type { DataSource, EntityManager } from 'typeorm';

/**
 * A transaction bound to one workspace. Repositories take it first: their queries filter by
 * `tx.workspaceId` explicitly, and row-level security enforces the same boundary underneath.
 */
export interface TenantTx {
  readonly workspaceId: string;
  readonly manager: EntityManager;
  /** Runs `effect` once the transaction has committed (never if it rolls back). */
  afterCommit(effect: () => Promise<void>): void;
}

/**
 * A transaction bound to a user before a workspace is chosen (login, switch): it may see that user's
 * memberships in every workspace and nothing else tenant-owned.
 */
export interface UserTx {
  readonly userId: string;
  readonly manager: EntityManager;
}

export class TenantDb {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` in one transaction with app.workspace_id set locally to `workspaceId`. */
  async run<T>(workspaceId: string, work: (tx: TenantTx) => Promise<T>): Promise<T> {
    const effects: Array<() => Promise<void>> = [];
    const result = await this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT set_config('app.workspace_id', $1, true)`, [workspaceId]);
      return work({ workspaceId, manager, afterCommit: (effect) => effects.push(effect) });
    });
    // Effects are best-effort by design (publishing to a queue): what they miss, a relay recovers.
    // They run after the caller has its answer, so a request does not wait on Redis round trips.
    if (effects.length > 0) void Promise.allSettled(effects.map((effect) => effect()));
    return result;
  }

  /** Runs `work` in one transaction that sees the user's own memberships across workspaces. */
  async asUser<T>(userId: string, work: (tx: UserTx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
      return work({ userId, manager });
    });
  }

  /** Tables that are not tenant-owned (users, refresh tokens): no workspace is set. */
  async global<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}
