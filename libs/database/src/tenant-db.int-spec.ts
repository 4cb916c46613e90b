import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { createAppDataSource } from './data-source.js';
import { TenantDb } from './tenant-db.js';

/** Row-level security, proven against the real application role. */
describe('TenantDb and row-level security', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  let tenantTables: string[];

  beforeAll(async () => {
    const config = await testConfig();
    a = await seedTenant(config, 'A');
    b = await seedTenant(config, 'B');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    const rows: Array<{ table_name: string }> = await dataSource.query(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'workspace_id'`,
    );
    // refresh_tokens is a user's credential, looked up by its hash before any workspace is known:
    // global by design, like users.
    tenantTables = rows.map((r) => r.table_name).filter((t) => t !== 'refresh_tokens').sort();
  });
  afterAll(async () => {
    await dataSource?.destroy();
  });

  it('connects as a role that is neither superuser nor able to bypass row-level security', async () => {
    const [role] = await dataSource.query(
      `SELECT rolsuper, rolbypassrls, current_user AS name FROM pg_roles WHERE rolname = current_user`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, name: 'ferry_app' });
  });

  it('guards every table that has a workspace_id with a forced policy', async () => {
    const rows: Array<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }> = await dataSource.query(
      `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1)`,
      [tenantTables],
    );
    expect(tenantTables.length).toBeGreaterThanOrEqual(14);
    for (const row of rows) expect(row, row.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it('returns nothing from any tenant table when no workspace is set', async () => {
    for (const table of [...tenantTables, 'workspaces']) {
      const [{ count }] = await dataSource.query(`SELECT count(*) FROM ${table}`);
      expect(count, table).toBe(0);
    }
  });

  it("returns only the set workspace's rows", async () => {
    const seen = await db.run(a.workspaceId, async ({ manager }) => ({
      workspaces: await manager.query('SELECT id FROM workspaces'),
      keys: await manager.query('SELECT workspace_id FROM api_keys'),
      members: await manager.query('SELECT workspace_id FROM members'),
    }));
    expect(seen.workspaces).toEqual([{ id: a.workspaceId }]);
    expect(seen.keys).toEqual([{ workspace_id: a.workspaceId }]);
    expect(seen.members).toEqual([{ workspace_id: a.workspaceId }]);
  });

  it("refuses to write a row into another workspace, and to read it back by id", async () => {
    await expect(
      db.run(a.workspaceId, ({ manager }) =>
        manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'stolen')`, [uuidv7(), b.workspaceId]),
      ),
    ).rejects.toThrow(/row-level security/);
    const labelOfB = uuidv7();
    await db.run(b.workspaceId, ({ manager }) =>
      manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'mine')`, [labelOfB, b.workspaceId]),
    );
    const fromA = await db.run(a.workspaceId, ({ manager }) => manager.query('SELECT id FROM labels WHERE id = $1', [labelOfB]));
    expect(fromA).toEqual([]);
    const updated = await db.run(a.workspaceId, ({ manager }) =>
      manager.query(`UPDATE labels SET name = 'taken' WHERE id = $1`, [labelOfB]),
    );
    expect(updated[1]).toBe(0);
  });

  it('scopes the workspace to the transaction: the next transaction on the same connection sees nothing', async () => {
    await db.run(a.workspaceId, async () => undefined);
    const [{ count }] = await dataSource.query('SELECT count(*) FROM api_keys');
    expect(count).toBe(0);
  });

  it('lets a user transaction see that user’s memberships in every workspace, and no one else’s', async () => {
    const mine = await db.asUser(a.userId, ({ manager }) => manager.query('SELECT user_id FROM members'));
    expect(mine).toEqual([{ user_id: a.userId }]);
  });

  it('runs after-commit effects only when the transaction commits', async () => {
    const effects: string[] = [];
    await db.run(a.workspaceId, async (tx) => tx.afterCommit(async () => void effects.push('committed')));
    await expect(
      db.run(a.workspaceId, async (tx) => {
        tx.afterCommit(async () => void effects.push('rolled back'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(effects).toEqual(['committed']);
  });

  describe('round trips at the edges of a transaction', () => {
    /** The calls that reached pg while `work` ran (their texts), and the writes to sockets meanwhile. */
    async function traced<T>(work: () => Promise<T>): Promise<{ result: T; calls: string[]; writes: number }> {
      const calls: string[] = [];
      const query = pg.Client.prototype.query;
      const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
        const [text] = args;
        calls.push(typeof text === 'string' ? text : (text as { text: string }).text);
        return (query as (...rest: unknown[]) => unknown).apply(this, args);
      } as never);
      const { Socket } = await import('node:net');
      // Every write a socket makes, of one chunk or of several (writev), goes through _writeGeneric.
      const write = vi.spyOn(Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown }, '_writeGeneric');
      try {
        const result = await work();
        return { result, calls, writes: write.mock.calls.length };
      } finally {
        spy.mockRestore();
        write.mockRestore();
      }
    }
    const labels = (workspaceId: string, name: string) =>
      db.run(workspaceId, ({ manager }) => manager.query('SELECT count(*)::int AS n FROM labels WHERE name = $1', [name]));

    it('sends the opening in one write with the first statement, and nothing for a transaction without one', async () => {
      const name = `lazy-${uuidv7()}`;
      const { calls, writes } = await traced(() =>
        db.run(a.workspaceId, async ({ manager }) => {
          await manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3)`, [uuidv7(), a.workspaceId, name]);
          await manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3)`, [uuidv7(), a.workspaceId, `${name}-2`]);
        }),
      );
      expect(calls.map((text) => text.split(' ')[0])).toEqual(['START', 'INSERT', 'INSERT', 'COMMIT']);
      expect(writes).toBe(3);
      expect(await labels(a.workspaceId, name)).toEqual([{ n: 1 }]);
      const empty = await traced(() => db.run(a.workspaceId, async () => 'nothing'));
      expect(empty).toEqual({ result: 'nothing', calls: [], writes: 0 });
    });

    it('rolls back every statement of a failed transaction, the first one sent with the opening included', async () => {
      const name = `undone-${uuidv7()}`;
      await expect(
        db.run(a.workspaceId, async ({ manager }) => {
          await manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3)`, [uuidv7(), a.workspaceId, name]);
          await manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'stolen')`, [uuidv7(), b.workspaceId]);
        }),
      ).rejects.toThrow(/row-level security/);
      expect(await labels(a.workspaceId, name)).toEqual([{ n: 0 }]);
    });

    it('leaves nothing of a transaction whose lone statement, sent with its opening and COMMIT, fails, and its connection works on', async () => {
      const effects: string[] = [];
      for (let i = 0; i < 8; i++) {
        await expect(
          db.run(a.workspaceId, async (tx) => {
            tx.afterCommit(async () => void effects.push('committed'));
            void tx.atCommit(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'stolen')`, [uuidv7(), b.workspaceId]);
          }),
        ).rejects.toThrow(/row-level security/);
      }
      expect(effects).toEqual([]);
      // Every pooled connection went through a failed one: each answers one query at a time again.
      const counts = await Promise.all(Array.from({ length: 8 }, () => labels(b.workspaceId, 'stolen')));
      expect(counts).toEqual(Array.from({ length: 8 }, () => [{ n: 0 }]));
    });

    it('sends an atCommit statement last, in one write with the COMMIT, and hands its rows over once committed', async () => {
      const name = `at-commit-${uuidv7()}`;
      const seen: unknown[] = [];
      const { calls, writes } = await traced(() =>
        db.run(a.workspaceId, async (tx) => {
          const written = tx.atCommit(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3) RETURNING name`, [uuidv7(), a.workspaceId, name]);
          tx.afterCommit(async () => void seen.push(await written));
          await tx.manager.query('SELECT count(*)::int AS n FROM labels WHERE name = $1', [name]);
        }),
      );
      expect(calls.map((text) => text.split(' ')[0])).toEqual(['START', 'SELECT', 'INSERT', 'COMMIT']);
      expect(writes).toBe(2);
      await vi.waitFor(() => expect(seen).toEqual([[{ name }]]));
      expect(await labels(a.workspaceId, name)).toEqual([{ n: 1 }]);
      // Alone, it travels with the opening too.
      const alone = await traced(() => db.run(a.workspaceId, async (tx) => void tx.atCommit(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3)`, [uuidv7(), a.workspaceId, `${name}-alone`])));
      expect(alone.writes).toBe(1);
      expect(await labels(a.workspaceId, `${name}-alone`)).toEqual([{ n: 1 }]);
    });

    describe('commitAcross: one transaction for several workspaces', () => {
      const insert = (workspaceId: string, name: string): [string, unknown[]] => [
        `INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3) RETURNING name`,
        [uuidv7(), workspaceId, name],
      ];

      it("sends every workspace's statements in one write, each under its own workspace's policy, and hands each its rows", async () => {
        const name = `across-${uuidv7()}`;
        const seen: unknown[] = [];
        const effects: string[] = [];
        const { calls, writes } = await traced(() =>
          db.commitAcross(
            [a, b, a].map(({ workspaceId }, i) => ({
              workspaceId,
              work: (tx) => {
                void tx.atCommit(...insert(workspaceId, `${name}-${i}`)).then((rows) => seen.push(rows));
                // What this workspace can see: its own rows of this run, none of the other's.
                void tx.atCommit(`SELECT name FROM labels WHERE name LIKE $1 ORDER BY name`, [`${name}%`]).then((rows) => seen.push(rows));
                tx.afterCommit(async () => void effects.push(`committed ${i}`));
              },
            })),
          ),
        );
        expect(calls.map((text) => text.split(' ')[0])).toEqual(['START', 'SELECT', 'INSERT', 'SELECT', 'SELECT', 'INSERT', 'SELECT', 'SELECT', 'INSERT', 'SELECT', 'COMMIT']);
        expect(writes).toBe(1);
        expect(seen).toEqual([
          [{ name: `${name}-0` }],
          [{ name: `${name}-0` }],
          [{ name: `${name}-1` }],
          [{ name: `${name}-1` }],
          [{ name: `${name}-2` }],
          [{ name: `${name}-0` }, { name: `${name}-2` }],
        ]);
        await vi.waitFor(() => expect(effects.sort()).toEqual(['committed 0', 'committed 1', 'committed 2']));
        expect(await labels(a.workspaceId, `${name}-0`)).toEqual([{ n: 1 }]);
        expect(await labels(b.workspaceId, `${name}-1`)).toEqual([{ n: 1 }]);
        // Parts with no statement send nothing; their effects still run, as a `run` without a statement's do.
        const none = await traced(() =>
          db.commitAcross([
            { workspaceId: a.workspaceId, work: () => undefined },
            { workspaceId: b.workspaceId, work: (tx) => tx.afterCommit(async () => void effects.push('nothing to commit')) },
          ]),
        );
        expect(none).toEqual({ result: undefined, calls: [], writes: 0 });
        await vi.waitFor(() => expect(effects).toContain('nothing to commit'));
      });

      it("rolls back every workspace's statements when one is refused, runs no effect, and its connection works on", async () => {
        const name = `across-undone-${uuidv7()}`;
        const effects: string[] = [];
        await expect(
          db.commitAcross([
            { workspaceId: a.workspaceId, work: (tx) => void tx.atCommit(...insert(a.workspaceId, name)) },
            // B's statement writes into A: B's policy refuses it.
            { workspaceId: b.workspaceId, work: (tx) => void tx.atCommit(...insert(a.workspaceId, 'stolen')) },
            { workspaceId: b.workspaceId, work: (tx) => tx.afterCommit(async () => void effects.push('committed')) },
          ]),
        ).rejects.toThrow(/row-level security/);
        expect(effects).toEqual([]);
        expect(await labels(a.workspaceId, name)).toEqual([{ n: 0 }]);
        expect(await labels(a.workspaceId, 'stolen')).toEqual([{ n: 0 }]);
        // A failed part's work fails the whole call before anything is sent.
        await expect(
          db.commitAcross([
            { workspaceId: a.workspaceId, work: (tx) => void tx.atCommit(...insert(a.workspaceId, name)) },
            { workspaceId: b.workspaceId, work: () => Promise.reject(new Error('boom')) },
          ]),
        ).rejects.toThrow('boom');
        expect(await labels(a.workspaceId, name)).toEqual([{ n: 0 }]);
        const counts = await Promise.all(Array.from({ length: 8 }, () => labels(a.workspaceId, name)));
        expect(counts).toEqual(Array.from({ length: 8 }, () => [{ n: 0 }]));
      });

      it("refuses a statement through the manager: it would run in whichever workspace was set last", async () => {
        await expect(db.commitAcross([{ workspaceId: a.workspaceId, work: (tx) => tx.manager.query('SELECT 1') }])).rejects.toThrow(
          'A transaction across workspaces (TenantDb.commitAcross) takes atCommit statements only',
        );
      });
    });

    it('rolls the transaction back when an atCommit statement fails, and fails the run', async () => {
      const name = `at-commit-failed-${uuidv7()}`;
      const effects: string[] = [];
      await expect(
        db.run(a.workspaceId, async (tx) => {
          await tx.manager.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3)`, [uuidv7(), a.workspaceId, name]);
          void tx.atCommit(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'stolen')`, [uuidv7(), b.workspaceId]);
          tx.afterCommit(async () => void effects.push('committed'));
        }),
      ).rejects.toThrow(/row-level security/);
      expect(effects).toEqual([]);
      expect(await labels(a.workspaceId, name)).toEqual([{ n: 0 }]);
      // Nor is an atCommit statement sent when the work fails first.
      await expect(
        db.run(a.workspaceId, async (tx) => {
          void tx.atCommit(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, $3)`, [uuidv7(), a.workspaceId, name]);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await labels(a.workspaceId, name)).toEqual([{ n: 0 }]);
    });
  });
});
