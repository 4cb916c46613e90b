import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { ContactsRepository, type NewContact } from './contacts.repository.js';

const contact = (fields: Partial<NewContact> = {}): NewContact => ({
  id: uuidv7(),
  name: null,
  email: null,
  phone: null,
  language: null,
  timezone: null,
  country: null,
  customAttributes: {},
  ...fields,
});

describe('ContactsRepository', () => {
  const repo = new ContactsRepository();
  let dataSource: DataSource;
  let db: TenantDb;
  let tenant: SeededTenant;
  let other: SeededTenant;

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    tenant = await seedTenant(config, 'Contacts');
    other = await seedTenant(config, 'Other');
  });
  afterAll(async () => dataSource?.destroy());

  it('inserts, finds, updates and soft-deletes a contact', async () => {
    const created = await db.run(tenant.workspaceId, (tx) =>
      repo.insert(tx, contact({ name: 'Ada', email: 'Ada@Example.com', customAttributes: { vip: true } })),
    );
    expect(created).toMatchObject({ name: 'Ada', email: 'Ada@Example.com', customAttributes: { vip: true }, deletedAt: null });
    await db.run(tenant.workspaceId, (tx) => repo.update(tx, created.id, { name: 'Ada L.', phone: '+14155550100' }));
    const found = await db.run(tenant.workspaceId, (tx) => repo.findById(tx, created.id));
    expect(found).toMatchObject({ name: 'Ada L.', phone: '+14155550100' });
    expect(await db.run(tenant.workspaceId, (tx) => repo.findByEmail(tx, 'ada@example.COM'))).toMatchObject({ id: created.id });
    expect(await db.run(tenant.workspaceId, (tx) => repo.findByPhone(tx, '+14155550100'))).toMatchObject({ id: created.id });

    expect(await db.run(other.workspaceId, (tx) => repo.findById(tx, created.id))).toBeNull();
    expect(await db.run(other.workspaceId, (tx) => repo.softDelete(tx, created.id))).toBe(false);

    expect(await db.run(tenant.workspaceId, (tx) => repo.softDelete(tx, created.id))).toBe(true);
    expect(await db.run(tenant.workspaceId, (tx) => repo.findById(tx, created.id))).toBeNull();
    expect(await db.run(tenant.workspaceId, (tx) => repo.findByEmail(tx, 'ada@example.com'))).toBeNull();
    expect(await db.run(tenant.workspaceId, (tx) => repo.softDelete(tx, created.id))).toBe(false);
  });

  it('keeps email (any case) and phone unique among live contacts of a workspace', async () => {
    await db.run(tenant.workspaceId, (tx) => repo.insert(tx, contact({ email: 'grace@example.com', phone: '+14155550111' })));
    const duplicateEmail = db.run(tenant.workspaceId, (tx) => repo.insert(tx, contact({ email: 'GRACE@example.com' })));
    await expect(duplicateEmail.catch(uniqueViolation)).resolves.toBe('contacts_email_key');
    const duplicatePhone = db.run(tenant.workspaceId, (tx) => repo.insert(tx, contact({ phone: '+14155550111' })));
    await expect(duplicatePhone.catch(uniqueViolation)).resolves.toBe('contacts_phone_key');
    // Another workspace has its own contacts.
    await db.run(other.workspaceId, (tx) => repo.insert(tx, contact({ email: 'grace@example.com', phone: '+14155550111' })));
  });

  it('pages by id, newest first, to the end without duplicates or gaps', async () => {
    const ids = await db.run(other.workspaceId, async (tx) => {
      const made: string[] = [];
      for (let i = 0; i < 11; i++) made.push((await repo.insert(tx, contact({ name: `Pager ${i}` }))).id);
      return made;
    });
    const all = await db.run(other.workspaceId, (tx) => repo.list(tx, { limit: 1000 }));
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await db.run(other.workspaceId, (tx) => repo.list(tx, { limit: 3, ...(afterId ? { afterId } : {}) }));
      seen.push(...page.map((c) => c.id));
      if (page.length < 3) break;
      afterId = page[page.length - 1]!.id;
    }
    expect(seen).toEqual(all.map((c) => c.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort().reverse());
    for (const id of ids) expect(seen).toContain(id);
  });

  it('searches name, email and phone by substring, in English and Chinese, with % and _ taken literally', async () => {
    const ws = (await seedTenant(await testConfig(), 'Search')).workspaceId;
    const [wang, ada, percent] = await db.run(ws, async (tx) => [
      await repo.insert(tx, contact({ name: '王小明', phone: '+8613800138000' })),
      await repo.insert(tx, contact({ name: 'Ada Lovelace', email: 'ada@analytical.example' })),
      await repo.insert(tx, contact({ name: '100% sure_thing' })),
    ]);
    const search = async (q: string) => (await db.run(ws, (tx) => repo.list(tx, { q, limit: 50 }))).map((c) => c.id);
    expect(await search('小明')).toEqual([wang!.id]);
    expect(await search('王')).toEqual([wang!.id]);
    expect(await search('lovelace')).toEqual([ada!.id]);
    expect(await search('ANALYTICAL')).toEqual([ada!.id]);
    expect(await search('13800138')).toEqual([wang!.id]);
    expect(await search('%')).toEqual([percent!.id]);
    expect(await search('_')).toEqual([percent!.id]);
    expect(await search('nobody')).toEqual([]);
  });
});
