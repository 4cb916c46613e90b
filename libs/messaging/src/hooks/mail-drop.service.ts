import { Injectable } from '@nestjs/common';
import { emailEventFromMime } from '#channels';
import { HookService } from './hook.service.js';
import { InboxRoutes } from './inbox-routes.js';

export interface MailRecipient {
  inboxId: string;
  workspaceId: string;
}

/**
 * Mail received by Ferry's own SMTP listener (self-hosters without an inbound-parse provider): each
 * recipient is an email inbox's inboundAddress, and the mail is stored as that inbox's inbound event,
 * exactly as its hook stores one (same dedupe key, same job).
 */
@Injectable()
export class MailDropService {
  constructor(
    private readonly routes: InboxRoutes,
    private readonly hooks: HookService,
  ) {}

  /** The email inbox that takes mail for `address`; null for an address no inbox claims (550). */
  async recipient(address: string): Promise<MailRecipient | null> {
    return this.routes.findByInboundAddress(address.trim());
  }

  /** Stores the mail for each inbox (once per inbox). Throws hook.malformed when the MIME cannot be read. */
  async deliver(recipients: MailRecipient[], raw: Buffer, receivedAt: Date): Promise<void> {
    const event = await emailEventFromMime(raw, receivedAt);
    const inboxes = new Map(recipients.map((recipient) => [recipient.inboxId, recipient]));
    for (const inbox of inboxes.values()) await this.hooks.store(inbox.workspaceId, inbox.inboxId, [event], raw, receivedAt);
  }
}
