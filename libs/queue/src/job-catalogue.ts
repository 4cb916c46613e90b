import type { JobsOptions } from 'bullmq';
import type { EventEnvelope } from '#domain';

/** Queues are separate by kind, so a flood of one never delays another. */
export const QUEUE_NAMES = ['inbound', 'outbound', 'status', 'events', 'webhooks', 'billing'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * The one job catalogue: each job's payload type, queue and options live together.
 * To add a job: add its payload to JobPayloads and its entry to JOBS; the compiler then asks for a
 * handler wherever jobs are dispatched, and the worker refuses to start without one.
 */
export interface JobPayloads {
  /**
   * Deliver an outbound message (written with status queued in the same transaction). One row per
   * message; rows of a workspace that commit together are published as one job (COALESCED_JOBS)
   * whose `members` name each message with its row id (the id of the member's own job, should it
   * need one later). `messageId` is then the first member's.
   */
  'message.send': { workspaceId: string; messageId: string; members?: SendMember[] };
  /**
   * The fallback deadline of one hop: at `dueAt` (ISO), if attempt `attemptId` is still the message's
   * current hop with no delivered receipt, the message goes on to the next identity of its route.
   */
  'message.fallback_check': { workspaceId: string; messageId: string; attemptId: string; dueAt: string };
  /** Turn stored inbound events (customers' messages, follows and unfollows; one or more) into contacts, conversations and messages. */
  'inbound.process': { workspaceId: string; eventIds: string[] };
  /** Apply a stored delivery receipt to its message (status only moves forward). */
  'status.apply': { workspaceId: string; eventId: string };
  /** Fan one committed event out to integrator webhooks and to the live (socket.io) stream. */
  'event.dispatch': { workspaceId: string; event: EventEnvelope };
  /** One try of one webhook delivery (its row holds the schedule); on its own queue so one slow endpoint delays nothing else. */
  'webhook.deliver': { workspaceId: string; deliveryId: string };
  /**
   * The first try of each delivery of one batch of an event's endpoints (a busy endpoint's delivery goes on alone as
   * webhook.deliver). The fan-out sends an event's first batch itself; this job carries the others, and the first when
   * that run was lost (its row left unpublished for the relay).
   */
  'webhook.deliver_batch': { workspaceId: string; deliveryIds: string[] };
  /** A stored Stripe event: apply the subscription's current state to the workspace's plan. */
  'billing.event': { workspaceId: string; eventId: string };
  /**
   * A message left for the provider (written in the transaction that marks it sent): counted once.
   * One row per message; the outbox publishes rows of a workspace that commit together as one job,
   * `messageIds` then naming all of them (COALESCED_JOBS).
   */
  'billing.usage': { workspaceId: string; messageId: string; messageIds?: string[] };
  /** Report the workspace's unreported usage to Stripe in one meter event (one job per workspace and window). */
  'billing.report': { workspaceId: string };
  /** The members changed: bring the subscription's seat quantity in line (throttled per workspace). */
  'billing.seats': { workspaceId: string };
}
export type JobName = keyof JobPayloads;

/** A message of a coalesced `message.send` job, and the id of its outbox row. */
export interface SendMember {
  messageId: string;
  jobId: string;
}

export interface JobDefinition {
  queue: QueueName;
  options: JobsOptions;
}

export const JOBS: { [N in JobName]: JobDefinition } = {
  'message.send': {
    queue: 'outbound',
    // 'jittered': exponential with jitter and the provider's Retry-After, computed by the worker (backoff.ts).
    options: { attempts: 8, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  // Waits (deferred, without spending a try) until its dueAt; a no-op unless the hop is still current.
  'message.fallback_check': {
    queue: 'outbound',
    options: { attempts: 8, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'inbound.process': {
    queue: 'inbound',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  // A receipt can beat our own write of the provider's message id: it is retried for about 15 to 25 minutes.
  'status.apply': {
    queue: 'status',
    options: { attempts: 12, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  // Fan-out sends the first tries and waits at most a second for them (the rest is handed to a batch): idempotent, retried if Redis or Postgres blinks.
  'event.dispatch': {
    queue: 'events',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  // The published retry schedule lives in the delivery row and is applied by deferring this job
  // (JobDeferred spends no try); the attempts here only cover the handler's own failures (Postgres down).
  'webhook.deliver': {
    queue: 'webhooks',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'webhook.deliver_batch': {
    queue: 'webhooks',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'billing.event': {
    queue: 'billing',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'billing.usage': {
    queue: 'billing',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  // Added with a jobId per workspace and window and a delay to the window's end (libs/billing usage-metering).
  'billing.report': {
    queue: 'billing',
    options: { attempts: 12, backoff: { type: 'jittered', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  'billing.seats': {
    queue: 'billing',
    options: { attempts: 10, backoff: { type: 'jittered', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
};

/** How the outbox publishes rows of one job together (COALESCED_JOBS). */
export interface Coalescing<N extends JobName> {
  /**
   * 'timer': rows committed within COALESCE_DELAY_MS of the first share its job (no one waits on it).
   * 'in-flight': no wait: the rows of one commit go at once, in one job, unless a publish of the
   * same job and workspace is in flight; rows committed meanwhile join the next (group commit).
   */
  gather: 'timer' | 'in-flight';
  /**
   * The job id: the first row's, or a fresh one when each row's id must stay free for a job of its
   * own (a member deferred or retried alone). A lone row is always published as itself (its row id).
   */
  jobId: 'first-row' | 'fresh';
  /** The most rows one job takes (the outbox's own cap when not set). */
  max?: number;
  merge: (rows: Array<{ id: string; data: JobPayloads[N] }>) => JobPayloads[N];
}

/**
 * Jobs the outbox publishes together: rows of one name and workspace committed together are
 * published as one job with the payload merged here, so a burst costs a job per batch instead of
 * one per row. The rows stay one each: one the relay publishes again is a job of its own, so the
 * handler must be idempotent per item.
 */
export const COALESCED_JOBS: { [N in JobName]?: Coalescing<N> } = {
  'message.send': {
    gather: 'in-flight',
    jobId: 'fresh',
    // One claim transaction's worth (DeliveryService MAX_CLAIMS): a batch's members are all in flight at once.
    max: 64,
    merge: (rows) => ({
      workspaceId: rows[0]!.data.workspaceId,
      messageId: rows[0]!.data.messageId,
      members: rows.map((row) => ({ messageId: row.data.messageId, jobId: row.id })),
    }),
  },
  'billing.usage': {
    gather: 'timer',
    jobId: 'first-row',
    merge: (rows) => ({ ...rows[0]!.data, messageIds: rows.flatMap((row) => row.data.messageIds ?? [row.data.messageId]) }),
  },
};

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}

/** Job names whose queue is `queue`. */
export function jobsOn(queue: QueueName): JobName[] {
  return (Object.keys(JOBS) as JobName[]).filter((name) => JOBS[name].queue === queue);
}
