import { Injectable, Logger } from '@nestjs/common';
import { DomainError, isUuid } from '#domain';
import { GroupCommit } from '#database';
import { type JobContext, jobRetryDelayMs, Queues, type SendMember } from '#queue';
import { SendOrder } from './send-order.js';

/** How one run of a send ended, short of an error: done (sent, failed, skipped), or to be run again after `delayMs`. */
export type RunEnd = { kind: 'done' } | { kind: 'wait'; delayMs: number; reason: string; blockerId?: string };

const logger = new Logger('SendBatch');

/** A DomainError about availability may pass; any other (invalid, not found...) never will. */
export function isPermanentError(error: unknown): boolean {
  return error instanceof DomainError && error.kind !== 'unavailable' && error.kind !== 'rate_limited';
}

/** What a batch does with its members (DeliveryService gives the real thing; tests give fakes). */
export interface BatchOps {
  /** Claims every member (in one claim transaction) and runs each: one end per member, in order. */
  startAll(members: SendMember[]): Array<Promise<RunEnd>>;
  /** Claims and runs one member again (the member of the batch it waited for has finished). */
  again(member: SendMember): Promise<RunEnd>;
  /** Adds the member's own job (its row id as job id; SendFollowUps). Throws when the job could not be added. */
  later(followUp: FollowUp): Promise<void>;
}

/**
 * Runs the members of a coalesced `message.send` job, concurrently, each as the send it would be
 * alone. A member that ends (sent, failed, skipped) is done; one that must wait (order, rate limit,
 * a try in doubt) or be retried goes on as its own job, and the batch does not wait for it. A member
 * waiting for an earlier message of its conversation that is itself a member runs again as soon as
 * that one is done, in this run (a cycle, which the data should never make, is not waited on). Throws
 * when a member's own job could not be added (Redis down): the batch job runs again, and the members
 * already done are no-ops then (a claim skips anything not queued). `job` is the batch's try: a
 * member's own job gets the tries left (a deferral spends none), and a retry the backoff of this try.
 */
export async function runBatch(payloadMembers: SendMember[], job: JobContext, ops: BatchOps): Promise<void> {
  const members = [...new Map(payloadMembers.filter(valid).map((member) => [member.messageId, member])).values()];
  const later = (member: SendMember, delayMs: number, spentTry: boolean, blockerId?: string): Promise<void> =>
    ops.later({ ...member, delayMs, blockerId, attempts: Math.max(1, job.maxAttempts - job.attempt + (spentTry ? 0 : 1)) });
  /** Each member's outcome by message id, never rejecting: 'later' when it went on alone (or could not). */
  const outcomes = new Map<string, Promise<'done' | 'later'>>();
  /** Who waits for whom in this run, to never wait in a cycle. */
  const waitsOn = new Map<string, string>();

  const waitsFor = (from: string, to: string): boolean => {
    for (let at: string | undefined = from; at !== undefined; at = waitsOn.get(at)) if (at === to) return true;
    return false;
  };

  const finish = async (member: SendMember, first: Promise<RunEnd>): Promise<'done' | 'later'> => {
    const waited = new Set<string>();
    let run = first;
    for (;;) {
      let end: RunEnd;
      try {
        end = await run;
      } catch (error) {
        if (isPermanentError(error)) {
          logger.warn(`message.send ${member.messageId} (job ${member.jobId}) failed for good: ${error instanceof Error ? error.message : String(error)}`);
          return 'done';
        }
        await later(member, jobRetryDelayMs('message.send', job.attempt, error), true);
        return 'later';
      }
      if (end.kind === 'done') return 'done';
      const blockerId = end.blockerId;
      const blocker = blockerId && !waited.has(blockerId) && !waitsFor(blockerId, member.messageId) ? outcomes.get(blockerId) : undefined;
      if (blockerId && blocker) {
        waited.add(blockerId);
        waitsOn.set(member.messageId, blockerId);
        const outcome = await blocker;
        waitsOn.delete(member.messageId);
        if (outcome === 'done') {
          run = ops.again(member);
          continue;
        }
      }
      await later(member, end.delayMs, false, blockerId);
      return 'later';
    }
  };

  const started = ops.startAll(members);
  const runs = members.map((member, i) => finish(member, started[i]!));
  members.forEach((member, i) => outcomes.set(member.messageId, runs[i]!.catch(() => 'later' as const)));
  const lost = (await Promise.allSettled(runs)).find((result) => result.status === 'rejected');
  if (lost) throw lost.reason;
}

function valid(member: SendMember): boolean {
  if (isUuid(member.messageId) && typeof member.jobId === 'string' && member.jobId !== '') return true;
  logger.warn(`message.send member ${JSON.stringify(member)} names no message: skipped`);
  return false;
}

/** A member's own job, with the tries its batch left it. */
export interface FollowUp {
  messageId: string;
  jobId: string;
  delayMs: number;
  attempts: number;
  blockerId?: string;
}

/**
 * Adds the jobs of members going on alone: those of a workspace that go on while an add is in flight
 * share the next one (one round trip). A job waiting for an earlier message is added delayed first,
 * then noted as waiting (SendOrder.park), so a release is never missed: one after the note promotes
 * the job, which exists by then; one before it is seen by the note, which promotes the job itself.
 */
@Injectable()
export class SendFollowUps {
  private readonly group = new GroupCommit<string, FollowUp, void>((workspaceId, items) => this.addAll(workspaceId, items), 200, false);

  constructor(
    private readonly queues: Queues,
    private readonly order: SendOrder,
  ) {}

  add(workspaceId: string, followUp: FollowUp): Promise<void> {
    return this.group.submit(workspaceId, followUp);
  }

  private async addAll(workspaceId: string, items: FollowUp[]): Promise<void[]> {
    await this.queues.addMany(
      'message.send',
      items.map((item) => ({ payload: { workspaceId, messageId: item.messageId }, jobId: item.jobId, delayMs: item.delayMs, attempts: item.attempts })),
    );
    await Promise.all(items.map((item) => (item.blockerId ? this.order.park(workspaceId, item.blockerId, item.jobId) : undefined)));
    return items.map(() => undefined);
  }
}
