import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { CannedResponsesRepository } from './canned-responses.repository.js';

describe('CannedResponsesRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const repo = new CannedResponsesRepository();

  beforeAll(async () => {
    const config = await testConfig();
    a = await seedTenant(config, 'Canned A');
    b = await seedTenant(config, 'Canned B');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    for (const shortCode of ['price-guilin', 'Price-Hanoi', 'greeting', 'price_%', 'pricey']) {
      await db.run(a.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), shortCode, content: `content of ${shortCode}` }));
    }
    await db.run(b.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), shortCode: 'price-b', content: 'B' }));
  });
  afterAll(async () => {
    await dataSource?.destroy();
  });

  const codes = async (workspaceId: string, prefix?: string) =>
    (await db.run(workspaceId, (tx) => repo.listAfter(tx, { prefix, after: null, take: 50 }))).map((c) => c.shortCode);

  it('lists by short code, narrowed to a prefix in any case, within the workspace', async () => {
    expect(await codes(a.workspaceId)).toHaveLength(5);
    expect((await codes(a.workspaceId, 'PRICE')).sort()).toEqual(['Price-Hanoi', 'price-guilin', 'price_%', 'pricey'].sort());
    expect(await codes(b.workspaceId, 'price')).toEqual(['price-b']);
  });

  it('treats % and _ in the prefix literally', async () => {
    expect(await codes(a.workspaceId, 'price_')).toEqual(['price_%']);
    expect(await codes(a.workspaceId, '%')).toEqual([]);
  });

  it('pages after a given (short code, id) without gaps or repeats', async () => {
    const all = await db.run(a.workspaceId, (tx) => repo.listAfter(tx, { after: null, take: 50 }));
    const first = await db.run(a.workspaceId, (tx) => repo.listAfter(tx, { after: null, take: 2 }));
    const rest = await db.run(a.workspaceId, (tx) => repo.listAfter(tx, { after: { shortCode: first[1]!.shortCode, id: first[1]!.id }, take: 50 }));
    expect([...first, ...rest].map((c) => c.id)).toEqual(all.map((c) => c.id));
  });

  it('finds, updates and deletes within its workspace only; short codes are unique', async () => {
    const id = uuidv7();
    await db.run(a.workspaceId, (tx) => repo.insert(tx, { id, shortCode: 'bye', content: 'Bye' }));
    expect(await db.run(b.workspaceId, (tx) => repo.findById(tx, id))).toBeNull();
    await db.run(a.workspaceId, (tx) => repo.update(tx, id, { content: 'Goodbye' }));
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, id))).toMatchObject({ shortCode: 'bye', content: 'Goodbye' });
    const error = await db.run(a.workspaceId, (tx) => repo.update(tx, id, { shortCode: 'greeting' })).catch((e: unknown) => e);
    expect(uniqueViolation(error)).toBe('canned_responses_workspace_id_short_code_key');
    expect(await db.run(b.workspaceId, (tx) => repo.delete(tx, id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => repo.delete(tx, id))).toBe(true);
  });
});
