import type { JobHandlers, QueueName } from '#queue';

/*
 * The queues this worker consumes and the handler of every job on them. To add a processor: add its
 * queue here and its handler (a thin call into a lib service) to JOB_HANDLERS; the worker checks at
 * boot that every job of every consumed queue has a handler (assertHandlers) and refuses to start
 * otherwise.
 *
 * For now the worker consumes no queue: it only runs the outbox relay. The `message.send` processor
 * (outbound queue) arrives with message delivery, and the check then holds it to a handler.
 */
export const CONSUMED_QUEUES: readonly QueueName[] = [];

export const JOB_HANDLERS: JobHandlers = {};
