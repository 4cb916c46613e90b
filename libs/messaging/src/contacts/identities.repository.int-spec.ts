import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { type Channel, uuidv7 } from '#domain';
import { createAppDataSource, InboxEntity, TenantDb, type TenantTx } from '#database';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { ContactsRepository } from './contacts.repository.js';
import { IdentitiesRepository } from './identities.repository.js';

async function insertInbox(tx: TenantTx, channel: Channel, deleted = false): Promise<string> {
  const id = uuidv7();
  await tx.manager.insert(InboxEntity, {
    id,
    workspaceId: tx.workspaceId,
    name: `${channel} inbox`,
    channel,
    config: {},
    secrets: null,
    deletedAt: deleted ? new Date() : null,
  });
  return id;
}

describe('IdentitiesRepository', () => {
  const repo = new IdentitiesRepository();
  const contacts = new ContactsRepository();
  let dataSource: DataSource;
  let db: TenantDb;
  let tenant: SeededTenant;

  beforeAll(async () => {
    const config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    tenant = await seedTenant(config, 'Identities');
  });
  afterAll(async () => dataSource?.destroy());

  const newContact = (tx: TenantTx) =>
    contacts.insert(tx, { id: uuidv7(), name: 'C', email: null, phone: null, language: null, timezone: null, country: null, customAttributes: {} });

  it('stores identities per inbox, finds them by external id, lists those that can still be sent on', async () => {
    await db.run(tenant.workspaceId, async (tx) => {
      const wechat = await insertInbox(tx, 'wechat');
      const closed = await insertInbox(tx, 'sms', true);
      const contact = await newContact(tx);
      const a = await repo.insert(tx, { id: uuidv7(), contactId: contact.id, inboxId: wechat, channel: 'wechat', externalId: 'oOpenId1', displayName: 'Xiaoming' });
      const b = await repo.insert(tx, { id: uuidv7(), contactId: contact.id, inboxId: closed, channel: 'sms', externalId: '+14155550100', displayName: null });
      expect(a).toMatchObject({ channel: 'wechat', externalId: 'oOpenId1', lastInboundAt: null });
      expect(await repo.findByExternalId(tx, wechat, 'oOpenId1')).toMatchObject({ id: a.id });
      expect(await repo.findByExternalId(tx, wechat, 'other')).toBeNull();
      expect((await repo.listByContact(tx, contact.id)).map((i) => i.id)).toEqual([a.id, b.id]);
      expect((await repo.listSendable(tx, contact.id)).map((i) => i.id)).toEqual([a.id]);

      await repo.markInbound(tx, a.id);
      expect((await repo.findById(tx, a.id))!.lastInboundAt).toBeInstanceOf(Date);

      const next = await newContact(tx);
      await repo.moveToContact(tx, a.id, next.id);
      expect((await repo.findById(tx, a.id))!.contactId).toBe(next.id);
    });
  });

  it('allows one identity per (inbox, external id)', async () => {
    const { inboxId, contactId } = await db.run(tenant.workspaceId, async (tx) => ({
      inboxId: await insertInbox(tx, 'api'),
      contactId: (await newContact(tx)).id,
    }));
    const insert = () =>
      db.run(tenant.workspaceId, (tx) => repo.insert(tx, { id: uuidv7(), contactId, inboxId, channel: 'api', externalId: 'cust-1', displayName: null }));
    await insert();
    await expect(insert().catch(uniqueViolation)).resolves.toMatch(/external_id|contact_identities/);
  });

  it('sees nothing of another workspace', async () => {
    const other = await seedTenant(await testConfig(), 'Other');
    const id = await db.run(tenant.workspaceId, async (tx) => {
      const inboxId = await insertInbox(tx, 'api');
      const contact = await newContact(tx);
      return (await repo.insert(tx, { id: uuidv7(), contactId: contact.id, inboxId, channel: 'api', externalId: 'x', displayName: null })).id;
    });
    expect(await db.run(other.workspaceId, (tx) => repo.findById(tx, id))).toBeNull();
  });
});
