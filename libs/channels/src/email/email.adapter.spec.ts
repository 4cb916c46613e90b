import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { HookRequest, OutboundMessage, SendContext } from '../channel-adapter.js';
import type { EmailConfig } from '../config/channel-configs.js';
import { EmailAdapter } from './email.adapter.js';
import { emailEventFromMime } from './email-inbound.js';
import { TEST_GUARD } from '../fake-provider-server.js';

const SECRET = 'inbound-secret-5d1c';
const CONFIG: EmailConfig = {
  fromAddress: 'support@mekong-tours.example',
  fromName: 'Mekong Tours',
  smtp: { host: '127.0.0.1', port: 25, secure: false },
  inboundSecret: SECRET,
};
const adapter = new EmailAdapter();
const RECEIVED = new Date('2026-05-01T09:00:00Z');

/** A Gmail reply to one of Ferry's messages, as raw MIME (multipart/alternative, quoted-printable). */
const GMAIL_REPLY = [
  'MIME-Version: 1.0',
  'Date: Fri, 1 May 2026 10:58:12 +0200',
  'References: <0191f0a2-1111-7000-8000-000000000001@mekong-tours.example>',
  ' <0191f0a2-2222-7000-8000-000000000002@mekong-tours.example>',
  'In-Reply-To: <0191f0a2-2222-7000-8000-000000000002@mekong-tours.example>',
  'Message-ID: <CAJ6mK9v3x=Q7-b8UoF1@mail.gmail.com>',
  'Subject: Re: Your booking 4411',
  'From: =?UTF-8?Q?Ana_Sou=C3=A7a?= <Ana.Souza@Example.com>',
  'To: Mekong Tours <inbox@mekong-tours.example>',
  'Content-Type: multipart/alternative; boundary="000000000000a1b2c3"',
  '',
  '--000000000000a1b2c3',
  'Content-Type: text/plain; charset="UTF-8"',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Yes, two adults and one child =E2=80=94 can we bring a stroller?',
  '',
  'On Thu, May 1, 2026 at 9:00 AM Mekong Tours <support@mekong-tours.example> wrot=',
  'e:',
  '',
  '> Hi Ana, how many people?',
  '>',
  '',
  '--000000000000a1b2c3',
  'Content-Type: text/html; charset="UTF-8"',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  '<div dir=3D"ltr">Yes, two adults and one child =E2=80=94 can we bring a stroller?</div>',
  '',
  '--000000000000a1b2c3--',
  '',
].join('\r\n');

async function sendgridRaw(mime: string, fields: Record<string, string> = {}): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append('dkim', '{@example.com : pass}');
  form.append('email', mime);
  form.append('to', 'inbox@mekong-tours.example');
  form.append('from', 'Ana Souça <Ana.Souza@Example.com>');
  form.append('subject', 'Re: Your booking 4411');
  form.append('envelope', JSON.stringify({ to: ['inbox@mekong-tours.example'], from: 'ana.souza@example.com' }));
  form.append('charsets', JSON.stringify({ to: 'UTF-8', subject: 'UTF-8', from: 'UTF-8' }));
  form.append('SPF', 'pass');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function hook(mime = GMAIL_REPLY, authorization: string | null = basic('ferry', SECRET)): Promise<HookRequest> {
  const { body, contentType } = await sendgridRaw(mime);
  const headers: HookRequest['headers'] = { 'content-type': contentType };
  if (authorization !== null) headers['authorization'] = authorization;
  return { method: 'POST', url: 'https://ferry.example/hooks/email/inbox-1', query: {}, headers, rawBody: body, receivedAt: RECEIVED };
}

async function expectMalformed(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('hook.malformed');
}

describe('email verify (HTTP Basic on the inbound-parse URL)', () => {
  it('accepts user ferry with the inbox inboundSecret', async () => {
    expect(adapter.verify(await hook(), CONFIG)).toEqual({ kind: 'verified' });
  });

  it('rejects a wrong password, a wrong user, no credentials, a GET, and any request when no inboundSecret is set', async () => {
    expect(adapter.verify(await hook(GMAIL_REPLY, basic('ferry', 'guess')), CONFIG)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(await hook(GMAIL_REPLY, basic('admin', SECRET)), CONFIG)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify(await hook(GMAIL_REPLY, null), CONFIG)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify(await hook(GMAIL_REPLY, `Bearer ${SECRET}`), CONFIG)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify({ ...(await hook()), method: 'GET' }, CONFIG)).toMatchObject({ kind: 'rejected' });
    const { inboundSecret: _secret, ...noSecret } = CONFIG;
    expect(adapter.verify(await hook(), noSecret)).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('inboundSecret') });
  });

  it('authenticates the caller, not the body: Basic auth signs nothing (a tampered body is caught only by TLS)', async () => {
    // Documented limit of the inbound-parse hook: the credential is per URL, there is no body signature.
    const request = await hook();
    expect(adapter.verify({ ...request, rawBody: Buffer.from('tampered') }, CONFIG)).toEqual({ kind: 'verified' });
    expect(adapter.verify({ ...request, rawBody: Buffer.from('tampered') }, { ...CONFIG, inboundSecret: 'rotated' })).toMatchObject({ kind: 'rejected' });
  });
});

describe('email parse (SendGrid Inbound Parse, raw mode)', () => {
  it('reads the raw MIME: sender, stripped body, threading headers, raw kept', async () => {
    const { events } = await adapter.parse(await hook(), CONFIG);
    expect(events).toEqual([
      {
        kind: 'message',
        providerEventId: '<CAJ6mK9v3x=Q7-b8UoF1@mail.gmail.com>',
        providerMessageId: '<CAJ6mK9v3x=Q7-b8UoF1@mail.gmail.com>',
        sender: { externalId: 'ana.souza@example.com', email: 'ana.souza@example.com', name: 'Ana Souça' },
        body: 'Yes, two adults and one child — can we bring a stroller?',
        attachments: [],
        occurredAt: new Date('2026-05-01T08:58:12Z'),
        email: {
          messageId: '<CAJ6mK9v3x=Q7-b8UoF1@mail.gmail.com>',
          inReplyTo: '<0191f0a2-2222-7000-8000-000000000002@mekong-tours.example>',
          references: ['<0191f0a2-1111-7000-8000-000000000001@mekong-tours.example>', '<0191f0a2-2222-7000-8000-000000000002@mekong-tours.example>'],
          subject: 'Re: Your booking 4411',
          raw: GMAIL_REPLY,
        },
      },
    ]);
  });

  it('gives a replayed post the same providerEventId, and a message without Message-ID a stable one', async () => {
    const a = await adapter.parse(await hook(), CONFIG);
    const b = await adapter.parse(await hook(), CONFIG);
    expect(b.events[0]!.providerEventId).toBe(a.events[0]!.providerEventId);
    const noId = GMAIL_REPLY.replace(/^Message-ID: .*\r\n/m, '');
    const c = await adapter.parse(await hook(noId), CONFIG);
    const d = await adapter.parse(await hook(noId), CONFIG);
    expect(c.events[0]!.providerEventId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d.events[0]!.providerEventId).toBe(c.events[0]!.providerEventId);
    expect(c.events[0]!.providerEventId).not.toBe(a.events[0]!.providerEventId);
  });

  it('lists attachments by part, content left in the raw MIME', async () => {
    const mime = [
      'From: ana@example.com',
      'Message-ID: <att-1@example.com>',
      'Subject: passport',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Here is the scan.',
      '--b1',
      'Content-Type: image/jpeg; name="passport.jpg"',
      'Content-Disposition: attachment; filename="passport.jpg"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('fake-jpeg').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    const { events } = await adapter.parse(await hook(mime), CONFIG);
    expect(events[0]).toMatchObject({ body: 'Here is the scan.', attachments: [{ kind: 'image', ref: 'part:2', mimeType: 'image/jpeg', name: 'passport.jpg' }] });
  });

  it('rejects malformed posts with hook.malformed', async () => {
    const request = await hook();
    await expectMalformed(adapter.parse({ ...request, headers: { ...request.headers, 'content-type': 'application/json' } }, CONFIG));
    await expectMalformed(adapter.parse({ ...request, rawBody: request.rawBody.subarray(0, request.rawBody.length - 40) }, CONFIG));
    const { body, contentType } = await (async () => {
      const form = new FormData();
      form.append('text', 'parsed mode, not raw');
      const response = new Response(form);
      return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
    })();
    await expectMalformed(adapter.parse({ ...request, headers: { ...request.headers, 'content-type': contentType }, rawBody: body }, CONFIG));
    await expectMalformed(adapter.parse(await hook('Subject: no sender\r\n\r\nhello'), CONFIG));
  });
});

describe('emailEventFromMime (the SMTP listener path)', () => {
  it('gives the same event as the hook for the same raw message', async () => {
    const viaHook = (await adapter.parse(await hook(), CONFIG)).events[0];
    expect(await emailEventFromMime(Buffer.from(GMAIL_REPLY), RECEIVED)).toEqual(viaHook);
    expect(await emailEventFromMime(GMAIL_REPLY, RECEIVED)).toEqual(viaHook);
  });

  it('takes the receive time when the Date header is missing or in the future', async () => {
    const noDate = GMAIL_REPLY.replace(/^Date: .*\r\n/m, '');
    expect((await emailEventFromMime(noDate, RECEIVED)).occurredAt).toEqual(RECEIVED);
    const future = GMAIL_REPLY.replace(/^Date: .*$/m, 'Date: Sat, 1 May 2027 10:00:00 +0000');
    expect((await emailEventFromMime(future, RECEIVED)).occurredAt).toEqual(RECEIVED);
  });
});

/* ── send: a local SMTP server ─────────────────────────────────────────────────────────────── */

interface Received {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

let smtp: SMTPServer;
let port: number;
const received: Received[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'support@mekong-tours.example' && auth.password === 'app-password') callback(null, { user: auth.username });
      else callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nobody@')) return callback(Object.assign(new Error('5.1.1 <nobody@example.com>: Recipient address rejected: User unknown'), { responseCode: 550 }));
      if (address.address.startsWith('greylist@')) return callback(Object.assign(new Error('4.2.0 Greylisted, try again later'), { responseCode: 450 }));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope;
        received.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
        });
        callback(null, 'Ok: queued as 4Xq2Lm0Zz');
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  port = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

describe('email send', () => {
  const context: SendContext = { tokens: { get: () => Promise.reject(new Error('no tokens')), invalidate: () => Promise.resolve() }, timeoutMs: 3000, now: () => RECEIVED, guard: TEST_GUARD };
  const reply: OutboundMessage = {
    messageId: '0191f0a2-3333-7000-8000-000000000003',
    to: 'ana.souza@example.com',
    body: 'Strollers are welcome on board. See you at 9am!',
    email: {
      subject: 'Re: Your booking 4411',
      inReplyTo: '<CAJ6mK9v3x=Q7-b8UoF1@mail.gmail.com>',
      references: ['<0191f0a2-1111-7000-8000-000000000001@mekong-tours.example>', '<0191f0a2-2222-7000-8000-000000000002@mekong-tours.example>', '<CAJ6mK9v3x=Q7-b8UoF1@mail.gmail.com>'],
    },
    statusCallbackUrl: 'https://ferry.example/hooks/email/inbox-1',
  };
  let config: EmailConfig;

  beforeEach(() => {
    received.length = 0;
    config = { ...CONFIG, smtp: { host: '127.0.0.1', port, secure: false, user: 'support@mekong-tours.example', password: 'app-password' } };
  });

  it('sends with our Message-ID, In-Reply-To and References, so the customer client threads it', async () => {
    const outcome = await adapter.send(reply, config, context);
    expect(outcome).toEqual({ ok: true, providerMessageId: '<0191f0a2-3333-7000-8000-000000000003@mekong-tours.example>', providerRequestId: '4Xq2Lm0Zz', responseCode: '250' });
    expect(received).toHaveLength(1);
    const [mail] = received;
    expect(mail!.user).toBe('support@mekong-tours.example');
    expect(mail!.from).toBe('support@mekong-tours.example');
    expect(mail!.to).toEqual(['ana.souza@example.com']);
    const headers = mail!.raw.slice(0, mail!.raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
    expect(headers).toMatch(/^Message-ID: <0191f0a2-3333-7000-8000-000000000003@mekong-tours\.example>$/m);
    expect(headers).toMatch(/^In-Reply-To: <CAJ6mK9v3x=Q7-b8UoF1@mail\.gmail\.com>$/m);
    expect(headers).toMatch(
      /^References: <0191f0a2-1111-7000-8000-000000000001@mekong-tours\.example> <0191f0a2-2222-7000-8000-000000000002@mekong-tours\.example> <CAJ6mK9v3x=Q7-b8UoF1@mail\.gmail\.com>$/m,
    );
    expect(headers).toMatch(/^From: Mekong Tours <support@mekong-tours\.example>$/m);
    expect(headers).toMatch(/^To: ana\.souza@example\.com$/m);
    expect(headers).toMatch(/^Subject: Re: Your booking 4411$/m);

    // What the customer's answer to it will carry, read back by our own inbound parser.
    const asParsed = await emailEventFromMime(mail!.raw, new Date());
    expect(asParsed.email).toMatchObject({ messageId: outcome.ok ? outcome.providerMessageId : '', inReplyTo: reply.email!.inReplyTo, references: reply.email!.references });
    expect(asParsed.body).toBe(reply.body);
  });

  it('a first message (no thread yet) carries no In-Reply-To or References', async () => {
    await adapter.send({ ...reply, email: { subject: 'Your booking 4411', references: [] } }, config, context);
    const headers = received[0]!.raw.slice(0, received[0]!.raw.indexOf('\r\n\r\n'));
    expect(headers).not.toMatch(/^In-Reply-To:/m);
    expect(headers).not.toMatch(/^References:/m);
  });

  it('a 5xx reply is permanent, with the server words as the reason', async () => {
    const outcome = await adapter.send({ ...reply, to: 'nobody@example.com' }, config, context);
    expect(outcome).toMatchObject({ ok: false, permanent: true, code: 'smtp.550', responseCode: '550' });
    expect(outcome.ok ? '' : outcome.reason).toContain('Recipient address rejected: User unknown');
    expect(received).toHaveLength(0);
  });

  it('refuses anything but one address as the recipient, before connecting', async () => {
    for (const to of ['ana@example.com, eve@example.com', 'Ana <ana@example.com>', 'not-an-address']) {
      expect(await adapter.send({ ...reply, to }, config, context)).toMatchObject({ ok: false, permanent: true, code: 'email.invalid_recipient' });
    }
    expect(received).toHaveLength(0);
  });

  it('wrong SMTP credentials (535) are permanent', async () => {
    const outcome = await adapter.send(reply, { ...config, smtp: { ...config.smtp, password: 'wrong' } }, context);
    expect(outcome).toMatchObject({ ok: false, permanent: true, code: 'smtp.535' });
  });

  it('a 4xx reply and a refused connection are transient', async () => {
    expect(await adapter.send({ ...reply, to: 'greylist@example.com' }, config, context)).toMatchObject({ ok: false, permanent: false, code: 'smtp.450' });
    const closed = new SMTPServer({ logger: false });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await adapter.send(reply, { ...config, smtp: { ...config.smtp, port: closedPort } }, context);
    expect(outcome).toMatchObject({ ok: false, permanent: false });
    expect(outcome.ok ? '' : outcome.code).toMatch(/^smtp\.e/);
  });
});
