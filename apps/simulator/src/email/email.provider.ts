import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { EmailAccount } from '../accounts.js';
import type { ProviderPlayer, SimContext } from '../context.js';
import type { InboundResult } from '../hook-client.js';
import { randomHex } from '../ids.js';
import { type Json, SimInputError, optString, optTime } from '../input.js';

/** Our message id, when a Message-ID's local part is a UUID (Ferry's `<uuid@domain>`); else the whole Message-ID. */
function ferryIdOf(messageId: string | undefined): string | undefined {
  if (!messageId) return undefined;
  const bare = messageId.replace(/^<|>$/g, '');
  return /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@/i.exec(bare)?.[1]?.toLowerCase() ?? bare;
}

const addressOf = (value: string): string => /<([^>]+)>/.exec(value)?.[1] ?? value.trim();

/** Email: an SMTP server recording what Ferry sends, and SendGrid Inbound Parse (raw mode) posts to Ferry. */
export class EmailProvider implements ProviderPlayer<'email'> {
  readonly provider = 'email';
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  constructor(private readonly sim: SimContext) {}

  routes(): void {
    // Email has no HTTP API to play: Ferry sends over SMTP (see smtpServer).
  }

  /** Accepts mail with or without AUTH (PLAIN/LOGIN against registered email accounts); no TLS. */
  smtpServer(): SMTPServer {
    return new SMTPServer({
      name: 'smtp.simulator.local',
      banner: 'Ferry provider simulator',
      authOptional: true,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: ['STARTTLS'],
      size: 25 * 1024 * 1024,
      logger: false,
      onAuth: (auth, _session, callback) => {
        const account = this.sim.state.find('email', (a) => a.smtpUser === auth.username && a.smtpPassword === auth.password);
        if (!account) return callback(new Error('Invalid username or password'));
        callback(null, { user: account.id });
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          (queued) => callback(null, queued),
          (error: Error) => callback(error),
        );
      },
    });
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if (stream.sizeExceeded) throw smtpError(552, 'Message exceeds fixed maximum message size');
    const gate = await this.sim.behaviours.gate('email');
    if (gate === 'fail') {
      const behaviour = this.sim.behaviours.get('email');
      throw smtpError(behaviour.failStatus ?? 451, 'Temporary local problem, please try again (simulated)');
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const mail = await simpleParser(raw);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const rcptTo = session.envelope.rcptTo.map((r) => r.address);
    const accountId = typeof session.user === 'string' ? session.user : this.sim.state.find('email', (a) => a.address === mailFrom)?.id;
    const queueId = randomHex(8).toUpperCase();
    const references = mail.references === undefined ? [] : Array.isArray(mail.references) ? mail.references : [mail.references];
    this.sim.state.record({
      channel: 'email',
      accountId,
      providerMessageId: mail.messageId ?? queueId,
      ferryMessageId: ferryIdOf(mail.messageId),
      to: rcptTo.join(', '),
      type: 'mail',
      text: mail.text,
      request: { envelope: { mailFrom, rcptTo }, messageId: mail.messageId, inReplyTo: mail.inReplyTo, references, subject: mail.subject, from: mail.from?.text, raw },
    });
    // The message is kept, but the client is told it failed: its attempt is left in doubt.
    if (gate === 'lose') throw smtpError(421, 'Connection lost after the message was queued (simulated)');
    return `OK: queued as ${queueId}`;
  }

  async inbound(account: EmailAccount, message: Json, repeat: number): Promise<InboundResult> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const from = optString(message, 'from') ?? 'Simulated Customer <customer@sim.mail.example>';
    const to = optString(message, 'to') ?? account.address;
    if (!to) throw new SimInputError('to is required (or register the account with an address)');
    const at = optTime(message, 'at') ?? Date.now();
    const messageId = optString(message, 'messageId') ?? `<${randomHex(12)}@sim.mail.example>`;
    const refs = message['references'];
    const references = Array.isArray(refs) ? refs.map(String) : typeof refs === 'string' ? refs : undefined;
    const subject = optString(message, 'subject') ?? 'Hello';
    const info = await this.composer.sendMail({
      from,
      to,
      subject,
      text: optString(message, 'text') ?? 'Hello from the simulator',
      html: optString(message, 'html'),
      messageId,
      inReplyTo: optString(message, 'inReplyTo'),
      references,
      date: new Date(at),
    });
    const raw = (info.message as Buffer).toString('utf8');
    const headers = raw.slice(0, raw.indexOf('\r\n\r\n') + 2);
    const fields: Record<string, string> = {
      headers,
      dkim: '{@sim.mail.example : pass}',
      to,
      from,
      sender_ip: '127.0.0.1',
      envelope: JSON.stringify({ to: [addressOf(to)], from: addressOf(from) }),
      subject,
      charsets: JSON.stringify({ to: 'UTF-8', from: 'UTF-8', subject: 'UTF-8' }),
      SPF: 'pass',
      email: raw,
    };
    this.sim.state.inbound(account.id, [addressOf(from)], at);
    const build = (): { headers: Record<string, string>; body: FormData } => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      const headers: Record<string, string> = { 'user-agent': 'Sendlib/1.0 sim' };
      if (account.inboundSecret !== undefined) headers['authorization'] = `Basic ${Buffer.from(`ferry:${account.inboundSecret}`).toString('base64')}`;
      return { headers, body: form };
    };
    const deliveries = await this.sim.hooks.deliver(account.hookUrl, build, repeat);
    return { ...deliveries[0]!, deliveries, url: account.hookUrl, payload: fields, event: { messageId, from: addressOf(from), to, raw } };
  }
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}
