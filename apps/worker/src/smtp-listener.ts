import type { AddressInfo } from 'node:net';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError } from '#domain';
import { MailDropService, type MailRecipient } from '#messaging';
import { WORKER_LOGGER } from './logger.js';

/** The largest mail accepted (announced with SIZE; larger ones get 552). Attachments travel in the MIME. */
export const MAX_MAIL_BYTES = 25 * 1024 * 1024;

type SmtpError = Error & { responseCode: number };

function smtpError(responseCode: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * Ferry's own SMTP server for self-hosters (SMTP_PORT; 0 = off): mail to an email inbox's
 * inboundAddress is stored as that inbox's inbound event, exactly as its inbound-parse hook would
 * store it; any other recipient is refused with 550, and the sending server bounces it. A failure on
 * our side answers 451, so the sender retries later. No AUTH, no STARTTLS: it receives, it never relays.
 */
@Injectable()
export class SmtpListener implements OnModuleDestroy {
  private server: SMTPServer | undefined;
  /** The inboxes each session's current mail is for (one mail at a time per session). */
  private readonly recipients = new Map<string, MailRecipient[]>();

  constructor(
    private readonly mail: MailDropService,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(WORKER_LOGGER) private readonly logger: Logger,
  ) {}

  /** Listens on SMTP_PORT when it is set; answers the port, or null when the listener is off. */
  async start(): Promise<number | null> {
    return this.config.smtp.port === 0 ? null : this.listen(this.config.smtp.port, this.config.smtp.host);
  }

  /** Listens on `port` (0: any free port) and answers the port bound. */
  async listen(port: number, host = this.config.smtp.host): Promise<number> {
    if (this.server) throw new Error('The SMTP listener is already listening');
    const server = new SMTPServer({
      name: new URL(this.config.http.publicUrl).hostname,
      banner: 'Ferry inbound mail',
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: MAX_MAIL_BYTES,
      logger: false,
      onMailFrom: (_address, session, callback) => {
        this.recipients.delete(session.id);
        callback();
      },
      onRcptTo: (address, session, callback) => {
        this.acceptRecipient(address, session).then(() => callback(), callback);
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(() => callback(), callback);
      },
      onClose: (session) => {
        this.recipients.delete(session.id);
      },
    });
    server.on('error', (error) => this.logger.warn({ err: error }, 'smtp listener error'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    const bound = (server.server.address() as AddressInfo).port;
    this.logger.info({ port: bound, host }, 'smtp listener started');
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  private async acceptRecipient(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    let recipient: MailRecipient | null;
    try {
      recipient = await this.mail.recipient(address.address);
    } catch (error) {
      this.logger.warn({ err: error, rcptTo: address.address }, 'smtp recipient lookup failed');
      throw smtpError(451, '4.3.0 Temporary failure, try again later');
    }
    if (!recipient) throw smtpError(550, '5.1.1 No such mailbox here');
    this.recipients.set(session.id, [...(this.recipients.get(session.id) ?? []), recipient]);
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if (stream.sizeExceeded) throw smtpError(552, `5.3.4 Message too big (at most ${MAX_MAIL_BYTES} bytes)`);
    const recipients = this.recipients.get(session.id) ?? [];
    this.recipients.delete(session.id);
    try {
      await this.mail.deliver(recipients, Buffer.concat(chunks), new Date());
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'invalid') throw smtpError(550, `5.6.0 ${error.message}`);
      this.logger.warn({ err: error }, 'smtp mail not stored');
      throw smtpError(451, '4.3.0 Temporary failure, try again later');
    }
  }
}
