import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import pg from 'pg';
import { exampleChannelConfig } from '#channels';
import { uuidv7 } from '#domain';
import { InboxesService } from '#messaging';
import { QUEUE_NAMES, Queues } from '#queue';
import { seedTenant, testConfig } from '#testing';
import { createLogger } from './logger.js';
import { SmtpListener } from './smtp-listener.js';
import { createWorker } from './worker.js';

describe('SMTP listener', () => {
  let worker: INestApplicationContext;
  let owner: pg.Client;
  let port: number;
  let address: string;
  let inboxId: string;

  beforeAll(async () => {
    const config = await testConfig();
    worker = await createWorker(config, createLogger('silent'));
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    const tenant = await seedTenant(config, 'Mail');
    address = `help-${uuidv7()}@tours.example`;
    inboxId = (await worker.get(InboxesService).create(tenant.workspaceId, {
      name: 'Mail',
      channel: 'email',
      config: { ...exampleChannelConfig('email'), inboundAddress: address },
    })).id;
    expect(await worker.get(SmtpListener).start(), 'SMTP_PORT is 0 by default: off').toBeNull();
    port = await worker.get(SmtpListener).listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    const queues = worker?.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await owner?.end();
    await worker?.close();
  });

  const send = (message: SendMailOptions) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true }).sendMail(message);
  const eventsOf = async (providerEventId: string) =>
    (await owner.query(`SELECT id, inbox_id, kind, event->>'body' AS body FROM inbound_events WHERE provider_event_id = $1`, [providerEventId])).rows;

  it("stores a mail for an inbox's inboundAddress as that inbox's inbound event, with its job", async () => {
    const messageId = `<${uuidv7()}@customer.example>`;
    const info = await send({ from: 'Ana <ana@customer.example>', to: address.toUpperCase(), subject: 'Ferry times', text: 'When does it leave?', messageId });
    expect((info.accepted as string[]).map((a) => a.toLowerCase())).toEqual([address]);
    const rows = await eventsOf(messageId);
    expect(rows).toEqual([{ id: expect.any(String), inbox_id: inboxId, kind: 'message', body: 'When does it leave?' }]);
    const jobs = (await owner.query(`SELECT o.job_name, o.payload->'eventIds' AS events FROM inbound_events e JOIN outbox o ON o.id = e.job_id WHERE e.id = $1`, [rows[0].id])).rows;
    expect(jobs).toEqual([{ job_name: 'inbound.process', events: [rows[0].id] }]);
    // The same mail again (a sender retrying after a lost answer) is stored once.
    await send({ from: 'ana@customer.example', to: address, subject: 'Ferry times', text: 'When does it leave?', messageId });
    expect(await eventsOf(messageId)).toHaveLength(1);
  });

  it('refuses an unknown recipient with 550, and takes the mail for the known one', async () => {
    const messageId = `<${uuidv7()}@customer.example>`;
    await expect(send({ from: 'ana@customer.example', to: 'nobody@tours.example', text: 'hi', messageId })).rejects.toMatchObject({ responseCode: 550 });
    expect(await eventsOf(messageId)).toHaveLength(0);
    const mixed = await send({ from: 'ana@customer.example', to: ['nobody@tours.example', address], text: 'hi again', messageId });
    expect(mixed.rejected).toEqual(['nobody@tours.example']);
    expect(await eventsOf(messageId)).toHaveLength(1);
  });
});
