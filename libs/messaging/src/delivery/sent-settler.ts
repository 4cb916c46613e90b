import { Injectable } from '@nestjs/common';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import { EventWriter } from '../events/event-writer.js';
import { OutboundMessagesRepository, type SentRow, type SentWrite } from './outbound-messages.repository.js';

/** The most sends one settle transaction takes. */
const MAX_BATCH = 64;

interface Pending {
  write: SentWrite;
  resolve: (row: SentRow | null) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of the common settle (a send its provider accepted, still queued on its hop): sends of
 * one workspace that finish while its settle transaction is running are settled together by the next
 * one, in one statement (settleSentMany). Alone, a send is settled at once: no waiting at light load.
 * Each caller gets its own answer, committed: its row (sent), or null when its message was no longer
 * queued on that hop and nothing of it was written (the caller's general path then decides). A batch
 * that fails is settled again one send at a time, so one bad send fails only its own job.
 */
@Injectable()
export class SentSettler {
  private readonly waiting = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly db: TenantDb,
    private readonly messages: OutboundMessagesRepository,
    private readonly outbox: Outbox,
    private readonly events: EventWriter,
  ) {}

  settle(workspaceId: string, write: SentWrite): Promise<SentRow | null> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(workspaceId);
      if (queue) queue.push({ write, resolve, reject });
      else this.waiting.set(workspaceId, [{ write, resolve, reject }]);
      if (!this.busy.has(workspaceId)) void this.drain(workspaceId);
    });
  }

  private async drain(workspaceId: string): Promise<void> {
    this.busy.add(workspaceId);
    try {
      for (;;) {
        const queue = this.waiting.get(workspaceId);
        if (!queue || queue.length === 0) break;
        const batch = queue.splice(0, MAX_BATCH);
        if (queue.length === 0) this.waiting.delete(workspaceId);
        await this.run(workspaceId, batch);
      }
    } finally {
      this.busy.delete(workspaceId);
    }
  }

  private async run(workspaceId: string, batch: Pending[]): Promise<void> {
    try {
      const rows = await this.write(workspaceId, batch.map((item) => item.write));
      batch.forEach((item, i) => item.resolve(rows[i] ?? null));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const item of batch) {
        try {
          item.resolve((await this.write(workspaceId, [item.write]))[0] ?? null);
        } catch (alone) {
          item.reject(alone);
        }
      }
    }
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
