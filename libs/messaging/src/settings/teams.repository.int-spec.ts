import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { TeamsRepository } from './teams.repository.js';

describe('TeamsRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const repo = new TeamsRepository();

  beforeAll(async () => {
    const config = await testConfig();
    a = await seedTenant(config, 'Teams A');
    b = await seedTenant(config, 'Teams B');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
  });

  it('inserts, finds, updates and deletes a team within its workspace only', async () => {
    const id = uuidv7();
    await db.run(a.workspaceId, (tx) => repo.insert(tx, { id, name: 'Sales', description: null }));
    expect(await db.run(b.workspaceId, (tx) => repo.findById(tx, id))).toBeNull();
    await db.run(b.workspaceId, (tx) => repo.update(tx, id, { name: 'Hijacked' }));
    await db.run(a.workspaceId, (tx) => repo.update(tx, id, { description: 'Closes deals' }));
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, id))).toMatchObject({ name: 'Sales', description: 'Closes deals' });
    expect(await db.run(b.workspaceId, (tx) => repo.delete(tx, id))).toBe(false);
    expect(await db.run(a.workspaceId, (tx) => repo.delete(tx, id))).toBe(true);
    expect(await db.run(a.workspaceId, (tx) => repo.findById(tx, id))).toBeNull();
  });

  it('keeps names unique ignoring case, through the teams_name_key index', async () => {
    await db.run(a.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name: 'Support', description: null }));
    const error = await db.run(a.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name: 'SUPPORT', description: null })).catch((e: unknown) => e);
    expect(uniqueViolation(error)).toBe('teams_name_key');
    // Another workspace may use the name.
    await db.run(b.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name: 'support', description: null }));
  });

  it('lists by name, then id, after a given (name, id)', async () => {
    const tenant = await seedTenant(await testConfig(), 'Teams list');
    for (const name of ['Delta', 'alpha', 'Charlie', 'bravo']) {
      await db.run(tenant.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), name, description: null }));
    }
    const all = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, null, 10));
    expect(all).toHaveLength(4);
    const firstTwo = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, null, 2));
    const last = firstTwo[1]!;
    const rest = await db.run(tenant.workspaceId, (tx) => repo.listAfter(tx, { name: last.name, id: last.id }, 10));
    expect([...firstTwo, ...rest].map((t) => t.id)).toEqual(all.map((t) => t.id));
  });

  it('replaces members, reads them per team, and knows which ids are members of the workspace', async () => {
    const id = uuidv7();
    await db.run(a.workspaceId, (tx) => repo.insert(tx, { id, name: 'Members', description: null }));
    expect(await db.run(a.workspaceId, (tx) => repo.existingMemberIds(tx, [a.memberId, b.memberId, uuidv7()]))).toEqual(new Set([a.memberId]));
    await db.run(a.workspaceId, (tx) => repo.replaceMembers(tx, id, [a.memberId]));
    expect(await db.run(a.workspaceId, (tx) => repo.memberIdsByTeam(tx, [id]))).toEqual(new Map([[id, [a.memberId]]]));
    await db.run(a.workspaceId, (tx) => repo.replaceMembers(tx, id, []));
    expect(await db.run(a.workspaceId, (tx) => repo.memberIdsByTeam(tx, [id]))).toEqual(new Map([[id, []]]));
    expect(await db.run(b.workspaceId, (tx) => repo.memberIdsByTeam(tx, [id]))).toEqual(new Map([[id, []]]));
  });
});
