import { Injectable } from '@nestjs/common';
import { GroupCommit, TenantDb } from '#database';
import { Outbox } from '#queue';
import { EventWriter } from '../events/event-writer.js';
import { OutboundMessagesRepository, type SentRow, type SentWrite } from './outbound-messages.repository.js';

/** The most sends one settle transaction takes. */
const MAX_BATCH = 64;

/**
 * The common settle (a send its provider accepted, still queued on its hop), with group commit: the
 * sends of a workspace that finish while its settle transaction runs are settled together by the
 * next one, in one statement (settleSentMany). Each caller gets its own committed answer: its row
 * (sent), or null when its message was no longer queued on that hop and nothing of it was written
 * (the caller's general path then decides).
 */
@Injectable()
export class SentSettler {
  private readonly group = new GroupCommit<string, SentWrite, SentRow | null>((workspaceId, writes) => this.write(workspaceId, writes), MAX_BATCH, false);

  constructor(
    private readonly db: TenantDb,
    private readonly messages: OutboundMessagesRepository,
    private readonly outbox: Outbox,
    private readonly events: EventWriter,
  ) {}

  settle(workspaceId: string, write: SentWrite): Promise<SentRow | null> {
    return this.group.submit(workspaceId, write);
  }

  private write(workspaceId: string, writes: SentWrite[]): Promise<Array<SentRow | null>> {
    return this.db.run(workspaceId, async (tx) => {
      const usages = writes.map((write) => this.outbox.prepare('billing.usage', { workspaceId, messageId: write.messageId }));
      const rows = await this.messages.settleSentMany(tx, writes, usages);
      const answers = writes.map((write) => rows.get(write.messageId) ?? null);
      for (const [i, row] of answers.entries()) {
        if (!row) continue;
        this.outbox.publishAfterCommit(tx, usages[i]!);
        await this.events.messageWritten(tx, 'message.updated', row.message, row.eventSubscribed);
      }
      return answers;
    });
  }
}
