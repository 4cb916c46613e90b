import { describe, expect, it } from 'vitest';
import { assertHandlers, JobHandlersError, type JobHandlers } from './job-handlers.js';

const send: JobHandlers['message.send'] = async () => undefined;
const check: JobHandlers['message.fallback_check'] = async () => undefined;

describe('assertHandlers', () => {
  it('accepts a process that consumes no queue and registers no handler', () => {
    expect(() => assertHandlers([], {})).not.toThrow();
  });

  it('accepts a handler for every job on the consumed queues', () => {
    expect(() => assertHandlers(['outbound', 'status'], { 'message.send': send, 'message.fallback_check': check, 'status.apply': async () => undefined })).not.toThrow();
  });

  it('refuses a consumed queue whose job has no handler, naming the job', () => {
    expect(() => assertHandlers(['outbound'], {})).toThrow(JobHandlersError);
    expect(() => assertHandlers(['outbound'], {})).toThrow(/No handler for job "message\.send" \(queue outbound\)/);
  });

  it('refuses a handler whose queue is not consumed, since it would never run', () => {
    expect(() => assertHandlers(['inbound'], { 'inbound.process': async () => undefined, 'message.send': send })).toThrow(/"message\.send".*outbound is not consumed/);
  });

  it('refuses a handler for a job the catalogue does not know', () => {
    const handlers = { 'message.teleport': send } as unknown as JobHandlers;
    expect(() => assertHandlers(['outbound'], { ...handlers, 'message.send': send, 'message.fallback_check': check })).toThrow(/unknown job "message\.teleport"/);
  });
});
