import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, SimulatorHarness } from '#testing';

let sim: SimulatorHarness;
let ferry: HookReceiver;
let accountId: string;

beforeAll(async () => {
  sim = await SimulatorHarness.start();
  ferry = await HookReceiver.start();
});
afterAll(async () => {
  await sim.close();
  await ferry.close();
});
beforeEach(async () => {
  await sim.reset();
  ferry.clear();
  accountId = (
    await sim.registerAccount({
      channel: 'email',
      fromAddress: 'support@mekong-tours.example',
      smtp: { host: '127.0.0.1', port: sim.smtpPort, secure: false, user: 'support@mekong-tours.example', password: 'smtp-pw' },
      inboundSecret: 'parse-secret',
      hookUrl: ferry.url('/hooks/email/inbox-1'),
    })
  ).id;
});

function transport(auth?: { user: string; pass: string }) {
  return nodemailer.createTransport({ host: sim.smtpHost, port: sim.smtpPort, secure: false, ignoreTLS: true, auth });
}

const mail = {
  from: 'Mekong Tours <support@mekong-tours.example>',
  to: 'anna@example.com',
  subject: 'Re: Your booking',
  text: 'See you on Monday',
  messageId: '<0190a5b2-0000-7000-8000-00000000000a@mekong-tours.example>',
  inReplyTo: '<abc@mail.example.com>',
  references: ['<root@mail.example.com>', '<abc@mail.example.com>'],
};

describe('SMTP server', () => {
  it('accepts mail with AUTH and records the raw MIME with its threading headers', async () => {
    const info = await transport({ user: 'support@mekong-tours.example', pass: 'smtp-pw' }).sendMail(mail);
    expect(info.response).toMatch(/^250 /);
    const sent = await sim.sent('email');
    expect(sent.messages).toHaveLength(1);
    const record = sent.messages[0]!;
    expect(record).toMatchObject({ accountId, ferryMessageId: '0190a5b2-0000-7000-8000-00000000000a', to: 'anna@example.com', type: 'mail', deliveryCount: 1 });
    const request = record.request as { raw: string; inReplyTo: string; references: string[]; envelope: { mailFrom: string; rcptTo: string[] } };
    expect(request.envelope).toEqual({ mailFrom: 'support@mekong-tours.example', rcptTo: ['anna@example.com'] });
    expect(request.inReplyTo).toBe('<abc@mail.example.com>');
    expect(request.references).toEqual(['<root@mail.example.com>', '<abc@mail.example.com>']);
    const parsed = await simpleParser(request.raw);
    expect(parsed.messageId).toBe(mail.messageId);
    expect(parsed.text?.trim()).toBe('See you on Monday');
  });

  it('accepts mail without AUTH, and refuses wrong credentials', async () => {
    await transport().sendMail({ ...mail, messageId: '<plain@mekong-tours.example>' });
    await expect(transport({ user: 'support@mekong-tours.example', pass: 'wrong' }).sendMail(mail)).rejects.toMatchObject({ responseCode: 535 });
    const sent = await sim.sent('email');
    expect(sent.messages.map((m) => m.ferryMessageId)).toEqual(['plain@mekong-tours.example']);
  });

  it('answers a transient 451 when told to fail, and counts a mail sent twice', async () => {
    await sim.behaviour('email', { mode: 'fail-half' });
    await expect(transport().sendMail(mail)).rejects.toMatchObject({ responseCode: 451 });
    await transport().sendMail(mail);
    await sim.behaviour('email', { mode: 'ok' });
    await transport().sendMail(mail);
    expect((await sim.sent('email')).deliveryCounts).toEqual({ '0190a5b2-0000-7000-8000-00000000000a': 2 });
  });
});

describe('SendGrid Inbound Parse (raw) to Ferry', () => {
  it('posts multipart form fields with the raw MIME, under HTTP Basic ferry:<inboundSecret>', async () => {
    const result = await sim.inbound('email', {
      account: accountId,
      message: { from: 'Anna <anna@example.com>', subject: 'Booking 42', text: 'Can we move to Tuesday?', inReplyTo: '<0190a5b2@mekong-tours.example>', references: ['<0190a5b2@mekong-tours.example>'] },
    });
    expect(result.status).toBe(200);
    const request = ferry.requests[0]!;
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from('ferry:parse-secret').toString('base64')}`);
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const form = await new Response(request.body, { headers: { 'content-type': String(request.headers['content-type']) } }).formData();
    expect(form.get('to')).toBe('support@mekong-tours.example');
    expect(form.get('from')).toBe('Anna <anna@example.com>');
    expect(JSON.parse(String(form.get('envelope')))).toEqual({ to: ['support@mekong-tours.example'], from: 'anna@example.com' });
    const parsed = await simpleParser(String(form.get('email')));
    expect(parsed.subject).toBe('Booking 42');
    expect(parsed.inReplyTo).toBe('<0190a5b2@mekong-tours.example>');
    expect(parsed.messageId).toBe(result.event['messageId']);
    expect(parsed.text?.trim()).toBe('Can we move to Tuesday?');
    expect(String(form.get('headers'))).toContain(`Message-ID: ${String(result.event['messageId'])}`);
  });

  it('sends no Authorization header when the inbox has no inbound secret, and reports Ferry\'s answer', async () => {
    ferry.respond(() => ({ status: 401, body: '{"code":"hook.invalid_signature"}', contentType: 'application/json' }));
    const result = await sim.inbound('email', { account: { hookUrl: ferry.url('/hooks/email/inbox-2'), address: 'sales@mekong-tours.example' } });
    expect(result.status).toBe(401);
    expect(result.body).toEqual({ code: 'hook.invalid_signature' });
    expect(ferry.requests[0]!.headers.authorization).toBeUndefined();
  });
});
