import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { PreparingClient } from './prepared-client.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A transaction bound to one workspace. Repositories take it first: their queries filter by
 * `tx.workspaceId` explicitly, and row-level security enforces the same boundary underneath.
 */
export interface TenantTx {
  readonly workspaceId: string;
  readonly manager: EntityManager;
  /** Runs `effect` once the transaction has committed (never if it rolls back). */
  afterCommit(effect: () => Promise<void>): void;
  /**
   * A statement run last, sent in one write with the COMMIT: for a write whose result the transaction
   * does not wait for (an event's outbox row, whose result only decides what to publish after commit).
   * Its rows arrive once the transaction has committed, never if it does not; if it fails, the
   * transaction rolls back and `run` fails.
   */
  atCommit(sql: string, params: unknown[]): Promise<unknown[]>;
}

/** commitAcross's transactions have no manager to hand out: any use of it is refused. */
const NO_MANAGER = new Proxy({} as EntityManager, {
  get() {
    throw new Error('A transaction across workspaces (TenantDb.commitAcross) takes atCommit statements only');
  },
});

/** The statements of a transaction's atCommit, waiting for its end. */
class AtCommit {
  private statements: Array<{ sql: string; params: unknown[]; resolve: (rows: unknown[]) => void }> = [];

  add(sql: string, params: unknown[]): Promise<unknown[]> {
    return new Promise((resolve) => this.statements.push({ sql, params, resolve }));
  }

  get pending(): boolean {
    return this.statements.length > 0;
  }

  take(): Array<{ sql: string; params: unknown[]; resolve: (rows: unknown[]) => void }> {
    const taken = this.statements;
    this.statements = [];
    return taken;
  }
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
    const atCommit = new AtCommit();
    const result = await this.scoped(
      'app.workspace_id',
      workspaceId,
      (manager) =>
        work({ workspaceId, manager, afterCommit: (effect) => effects.push(effect), atCommit: (sql, params) => atCommit.add(sql, params) }),
      atCommit,
    );
    // Effects are best-effort by design (publishing to a queue): what they miss, a relay recovers.
    // They run after the caller has its answer, so a request does not wait on Redis round trips.
    if (effects.length > 0) void Promise.allSettled(effects.map((effect) => effect()));
    return result;
  }

  /**
   * Group commit across workspaces: one transaction for the atCommit statements of several
   * workspaces' `work`, each run with app.workspace_id set to its own workspace (so each is held to
   * it by row-level security, as in `run`), sent with the opening and the COMMIT in one write. For
   * hot statements too small to pay a transaction each (a fan-out's endpoint reads and settled first
   * tries). `work` may only use `atCommit` and `afterCommit`: a statement through its manager would
   * run in whichever workspace was set last, so the manager refuses. One failed statement rolls back
   * every workspace's (the caller decides what to retry); the after-commit effects run only once all
   * committed.
   */
  async commitAcross(parts: Array<{ workspaceId: string; work: (tx: TenantTx) => void | Promise<void> }>): Promise<void> {
    const statements: Array<[string, unknown[]]> = [];
    const answers: Array<{ at: number; resolve: (rows: unknown[]) => void }> = [];
    const effects: Array<() => Promise<void>> = [];
    for (const { workspaceId, work } of parts) {
      const atCommit = new AtCommit();
      await work({ workspaceId, manager: NO_MANAGER, afterCommit: (effect) => effects.push(effect), atCommit: (sql, params) => atCommit.add(sql, params) });
      if (!atCommit.pending) continue;
      statements.push([`SELECT set_config('app.workspace_id', $1, true)`, [workspaceId]]);
      for (const { sql, params, resolve } of atCommit.take()) answers.push({ at: statements.push([sql, params]) - 1, resolve });
    }
    if (statements.length > 0) {
      const runner = this.dataSource.createQueryRunner();
      try {
        const client = await preparing(runner);
        client.openWith('START TRANSACTION');
        const results = await client.commitWith(statements);
        for (const { at, resolve } of answers) resolve((results[at] as { rows: unknown[] }).rows);
      } finally {
        await runner.release();
      }
    }
    if (effects.length > 0) void Promise.allSettled(effects.map((effect) => effect()));
  }

  /** Runs `work` in one transaction that sees the user's own memberships across workspaces. */
  async asUser<T>(userId: string, work: (tx: UserTx) => Promise<T>): Promise<T> {
    return this.scoped('app.user_id', userId, (manager) => work({ userId, manager }));
  }

  /** Tables that are not tenant-owned (users, refresh tokens): no workspace is set. */
  async global<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * One transaction with `setting` set locally to `value`. A round trip costs more client CPU than
   * most of the statements on the hot paths, so the setting travels with TypeORM's own START
   * TRANSACTION (one simple-protocol call of two statements), and that call is not sent on its own
   * but in one write with the first statement (PreparingClient.openWith). Only a UUID is written
   * into the SQL text; anything else takes the parameterised second call.
   */
  private async scoped<T>(
    setting: 'app.workspace_id' | 'app.user_id',
    value: string,
    work: (manager: EntityManager) => Promise<T>,
    atCommit?: AtCommit,
  ): Promise<T> {
    if (!UUID.test(value)) {
      return this.dataSource.transaction(async (manager) => {
        await manager.query(`SELECT set_config('${setting}', $1, true)`, [value]);
        const result = await work(manager);
        for (const { sql, params, resolve } of atCommit?.take() ?? []) resolve(await manager.query(sql, params));
        return result;
      });
    }
    const runner = this.dataSource.createQueryRunner();
    openWith(runner, `START TRANSACTION; SELECT set_config('${setting}', '${value}', true)`, atCommit);
    try {
      return await runner.manager.transaction(work);
    } finally {
      await runner.release();
    }
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}

/**
 * Makes TypeORM's START TRANSACTION on this runner open with `begin` instead, sent with the first
 * statement, and its COMMIT carry the atCommit statements (its bookkeeping stays TypeORM's).
 */
function openWith(runner: QueryRunner, begin: string, atCommit?: AtCommit): void {
  const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
  runner.query = (async (sql: string, ...rest: unknown[]) => {
    if (sql === 'COMMIT' && atCommit?.pending) {
      const statements = atCommit.take();
      const results = await (await preparing(runner)).commitWith(statements.map(({ sql: text, params }) => [text, params]));
      statements.forEach(({ resolve }, i) => resolve((results[i] as { rows: unknown[] }).rows));
      return;
    }
    if (sql !== 'START TRANSACTION') return query(sql, ...rest);
    (await preparing(runner)).openWith(begin);
  }) as QueryRunner['query'];
}

/** The runner's connection: TenantDb runs on the app data source, whose connections are PreparingClients. */
async function preparing(runner: QueryRunner): Promise<PreparingClient> {
  const client: unknown = await runner.connect();
  if (!(client instanceof PreparingClient)) throw new Error('TenantDb needs the app data source (createAppDataSource): its connections are PreparingClients');
  return client;
}
