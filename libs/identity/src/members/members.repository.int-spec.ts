import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { UsersRepository } from '../accounts/users.repository.js';
import { MembersRepository } from './members.repository.js';

describe('MembersRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  let a: SeededTenant;
  let b: SeededTenant;
  const members = new MembersRepository();
  const users = new UsersRepository();

  async function newUser(name: string): Promise<string> {
    const user = await db.global((manager) => users.insert({ manager }, { email: `${uuidv7()}@example.test`, name, passwordHash: 'h' }));
    return user.id;
  }

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    a = await seedTenant(config, 'Members A');
    b = await seedTenant(config, 'Members B');
  });
  afterAll(async () => dataSource?.destroy());

  it('inserts members with defaults and finds them by id, user and email, in their workspace only', async () => {
    const userId = await newUser('Agent A');
    const member = await db.run(a.workspaceId, (tx) => members.insert(tx, { userId, role: 'agent' }));
    expect(member).toMatchObject({ workspaceId: a.workspaceId, userId, role: 'agent', languages: [], capacity: 10 });
    const row = await db.run(a.workspaceId, (tx) => members.findRowById(tx, member.id));
    expect(row).toMatchObject({ id: member.id, userId, name: 'Agent A', role: 'agent', languages: [], capacity: 10 });
    expect(row?.createdAt).toBeInstanceOf(Date);
    expect(await db.run(a.workspaceId, (tx) => members.findByUserId(tx, userId))).toMatchObject({ id: member.id });
    expect(await db.run(a.workspaceId, (tx) => members.existsWithEmail(tx, row!.email.toUpperCase()))).toBe(true);
    // Workspace B cannot see A's member, by id, user or email.
    expect(await db.run(b.workspaceId, (tx) => members.findById(tx, member.id))).toBeNull();
    expect(await db.run(b.workspaceId, (tx) => members.findRowById(tx, member.id))).toBeNull();
    expect(await db.run(b.workspaceId, (tx) => members.findByUserId(tx, userId))).toBeNull();
    expect(await db.run(b.workspaceId, (tx) => members.existsWithEmail(tx, row!.email))).toBe(false);
  });

  it('pages members by id, and only the workspace\'s own', async () => {
    const tenant = await seedTenant(await testConfig(), 'Paged');
    for (const name of ['P1', 'P2', 'P3']) {
      const userId = await newUser(name);
      await db.run(tenant.workspaceId, (tx) => members.insert(tx, { userId, role: 'agent' }));
    }
    const first = await db.run(tenant.workspaceId, (tx) => members.listPage(tx, null, 2));
    const rest = await db.run(tenant.workspaceId, (tx) => members.listPage(tx, first[1]!.id, 10));
    expect(first.map((m) => m.name)).toEqual(['Owner', 'P1']);
    expect(rest.map((m) => m.name)).toEqual(['P2', 'P3']);
    expect([...first, ...rest].every((m) => m.id !== a.memberId)).toBe(true);
  });

  it('updates and deletes a member, in its workspace only', async () => {
    const userId = await newUser('Changing');
    const member = await db.run(a.workspaceId, (tx) => members.insert(tx, { userId, role: 'agent' }));
    await db.run(b.workspaceId, (tx) => members.update(tx, member.id, { role: 'admin' }));
    await db.run(b.workspaceId, (tx) => members.delete(tx, member.id));
    expect(await db.run(a.workspaceId, (tx) => members.findById(tx, member.id))).toMatchObject({ role: 'agent' });
    await db.run(a.workspaceId, (tx) => members.update(tx, member.id, { role: 'admin', languages: ['en', 'th'], capacity: 3 }));
    expect(await db.run(a.workspaceId, (tx) => members.findById(tx, member.id))).toMatchObject({
      role: 'admin',
      languages: ['en', 'th'],
      capacity: 3,
    });
    await db.run(a.workspaceId, (tx) => members.delete(tx, member.id));
    expect(await db.run(a.workspaceId, (tx) => members.findById(tx, member.id))).toBeNull();
  });

  it('locks and lists the owners', async () => {
    const owners = await db.run(a.workspaceId, (tx) => members.lockOwnerIds(tx));
    expect(owners).toEqual([a.memberId]);
  });

  it('lists a user\'s memberships across workspaces, oldest first, with workspace names', async () => {
    const userId = await newUser('Traveller');
    const inA = await db.run(a.workspaceId, (tx) => members.insert(tx, { userId, role: 'agent' }));
    const inB = await db.run(b.workspaceId, (tx) => members.insert(tx, { userId, role: 'admin' }));
    const memberships = await db.asUser(userId, (tx) => members.listMembershipsOfUser(tx));
    expect(memberships).toEqual([
      { memberId: inA.id, workspaceId: a.workspaceId, workspaceName: 'Members A', role: 'agent' },
      { memberId: inB.id, workspaceId: b.workspaceId, workspaceName: 'Members B', role: 'admin' },
    ]);
    expect(await db.asUser(userId, (tx) => members.findMembershipOfUser(tx, b.workspaceId))).toMatchObject({ memberId: inB.id });
    // Someone else's memberships stay invisible to this user.
    expect(await db.asUser(userId, (tx) => members.findMembershipOfUser(tx, uuidv7()))).toBeNull();
    expect(await db.asUser(a.userId, (tx) => members.listMembershipsOfUser(tx))).toEqual([
      { memberId: a.memberId, workspaceId: a.workspaceId, workspaceName: 'Members A', role: 'owner' },
    ]);
  });
});
