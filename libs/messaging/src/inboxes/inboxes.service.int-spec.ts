import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import type { FerryConfig } from '#config';
import { DomainError } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { Outbox, type Queues } from '#queue';
import { seedTenant, testConfig, type SeededTenant } from '#testing';
import { exampleChannelConfig, SECRET_MASK } from '#channels';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { ConversationsRepository } from '../conversations/conversations.repository.js';
import { EventWriter } from '../events/event-writer.js';
import type { LivePublisher } from '../events/live-publisher.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { CredentialCipher } from './credential-cipher.js';
import { InboxesRepository } from './inboxes.repository.js';
import { InboxesService } from './inboxes.service.js';

/** The secrets' path to the database, proven on the stored bytes (read through the owner connection). */
describe('InboxesService credentials at rest', () => {
  let config: FerryConfig;
  let dataSource: DataSource;
  let db: TenantDb;
  let owner: pg.Client;
  let tenant: SeededTenant;
  let service: InboxesService;
  const TOKEN = 'EAAG-plaintext-access-token-4f1d9c';
  const SMTP_PASSWORD = 'smtp-plaintext-password-77ab';

  beforeAll(async () => {
    config = await testConfig();
    tenant = await seedTenant(config, 'Credentials');
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    // No Redis here: events are neither queued nor published live, which these tests do not look at.
    const outbox = new Outbox({ add: async () => undefined } as unknown as Queues, dataSource);
    const live = { publish: async () => undefined, publishAll: async () => undefined } as unknown as LivePublisher;
    const events = new EventWriter(outbox, new MessagesRepository(), new ConversationsRepository(), new ContactsRepository(), new IdentitiesRepository(), live);
    service = new InboxesService(db, new InboxesRepository(), new CredentialCipher(config.auth.appSecret), config, events);
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await dataSource?.destroy();
  });

  const storedRow = async (id: string) =>
    (await owner.query(`SELECT config::text AS config, secrets FROM inboxes WHERE id = $1`, [id])).rows[0] as { config: string; secrets: string | null };

  it('never stores a secret in plaintext, neither in config nor in secrets', async () => {
    const inbox = await service.create(tenant.workspaceId, {
      name: 'WhatsApp',
      channel: 'whatsapp',
      config: { ...exampleChannelConfig('whatsapp'), accessToken: TOKEN },
    });
    const row = await storedRow(inbox.id);
    expect(row.secrets).toMatch(/^v1\./);
    expect(row.secrets).not.toContain(TOKEN);
    expect(row.secrets).not.toContain(Buffer.from(TOKEN).toString('base64url').slice(0, 12));
    expect(row.config).not.toContain(TOKEN);
    expect(JSON.parse(row.config)).toEqual({
      phoneNumberId: '106540352242922',
      businessAccountId: '102290129340398',
      apiBaseUrl: 'https://graph.facebook.com/v21.0',
    });
    expect(inbox.config).toMatchObject({ accessToken: SECRET_MASK, appSecret: SECRET_MASK, verifyToken: SECRET_MASK });
  });

  it('hands the decrypted config to the delivery side, typed by channel', async () => {
    const inbox = await service.create(tenant.workspaceId, {
      name: 'Email',
      channel: 'email',
      config: { ...exampleChannelConfig('email'), smtp: { ...exampleChannelConfig('email').smtp, password: SMTP_PASSWORD } },
    });
    const row = await storedRow(inbox.id);
    expect(row.config).not.toContain(SMTP_PASSWORD);
    expect(row.secrets).not.toContain(SMTP_PASSWORD);
    const credentials = await db.run(tenant.workspaceId, (tx) => service.credentials(tx, inbox.id));
    expect(credentials.channel).toBe('email');
    if (credentials.channel !== 'email') throw new Error('narrowing');
    expect(credentials.config.smtp.password).toBe(SMTP_PASSWORD);
    expect(credentials.config.smtp.host).toBe('smtp.mekong-tours.example');
  });

  it('re-seals on PATCH: a replaced secret is stored encrypted, the old one is gone, the omitted ones stay', async () => {
    const inbox = await service.create(tenant.workspaceId, { name: 'LINE', channel: 'line', config: exampleChannelConfig('line') });
    const before = await storedRow(inbox.id);
    const NEW_TOKEN = 'line-new-plaintext-access-token';
    await service.update(tenant.workspaceId, inbox.id, { config: { channelAccessToken: NEW_TOKEN } });
    const after = await storedRow(inbox.id);
    expect(after.secrets).not.toBe(before.secrets);
    expect(after.secrets).not.toContain(NEW_TOKEN);
    const credentials = await db.run(tenant.workspaceId, (tx) => service.credentials(tx, inbox.id));
    expect(credentials.config).toEqual({ ...exampleChannelConfig('line'), channelAccessToken: NEW_TOKEN });
  });

  it('refuses secrets that were moved onto another inbox row', async () => {
    const one = await service.create(tenant.workspaceId, { name: 'TG 1', channel: 'telegram', config: exampleChannelConfig('telegram') });
    const two = await service.create(tenant.workspaceId, { name: 'TG 2', channel: 'telegram', config: exampleChannelConfig('telegram') });
    await owner.query(`UPDATE inboxes SET secrets = (SELECT secrets FROM inboxes WHERE id = $1) WHERE id = $2`, [one.id, two.id]);
    const error = await db.run(tenant.workspaceId, (tx) => service.credentials(tx, two.id)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('inbox.credentials_unreadable');
  });

  it('answers credentials only for live inboxes of the workspace', async () => {
    const inbox = await service.create(tenant.workspaceId, { name: 'SMS', channel: 'sms', config: exampleChannelConfig('sms') });
    const other = await seedTenant(config, 'Other');
    await expect(db.run(other.workspaceId, (tx) => service.credentials(tx, inbox.id))).rejects.toMatchObject({ code: 'inbox.not_found' });
    await service.remove(tenant.workspaceId, inbox.id);
    await expect(db.run(tenant.workspaceId, (tx) => service.credentials(tx, inbox.id))).rejects.toMatchObject({ code: 'inbox.not_found' });
  });
});
