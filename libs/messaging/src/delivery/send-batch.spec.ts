import { describe, expect, it } from 'vitest';
import { DomainError, uuidv7 } from '#domain';
import { JobRetryable, type SendMember } from '#queue';
import { type BatchOps, type FollowUp, type RunEnd, runBatch } from './send-batch.js';

type Script = Array<RunEnd | Error>;

/** Plays DeliveryService: each member's runs answer the next scripted end (or throw the scripted error), after a tick. */
function fakeOps(scripts: Map<string, Script>, options: { failLater?: boolean } = {}) {
  const log: string[] = [];
  const laters: Array<FollowUp> = [];
  const runOf = async (member: SendMember, kind: string): Promise<RunEnd> => {
    log.push(`${kind} ${member.messageId}`);
    await new Promise((resolve) => setImmediate(resolve));
    const next = scripts.get(member.messageId)!.shift() ?? { kind: 'done' };
    log.push(`end ${member.messageId}`);
    if (next instanceof Error) throw next;
    return next;
  };
  const ops: BatchOps = {
    startAll: (members) => members.map((member) => runOf(member, 'start')),
    again: (member) => runOf(member, 'again'),
    later: async (followUp) => {
      if (options.failLater) throw new Error('Redis is down');
      laters.push(followUp);
      log.push(`later ${followUp.messageId}`);
    },
  };
  return { ops, log, laters };
}

const member = (): SendMember => ({ messageId: uuidv7(), jobId: uuidv7() });
const job = { jobId: 'batch', attempt: 2, maxAttempts: 8 };

describe('runBatch (the members of a coalesced message.send)', () => {
  it('a done member is done, a permanent error fails it alone, a retry and a deferral each go on as their own job', async () => {
    const [sent, broken, flaky, limited] = [member(), member(), member(), member()];
    const { ops, laters } = fakeOps(
      new Map<string, Script>([
        [sent.messageId, [{ kind: 'done' }]],
        [broken.messageId, [DomainError.invalid('delivery.invalid_job', 'no such thing')]],
        [flaky.messageId, [new JobRetryable('503', 45_000)]],
        [limited.messageId, [{ kind: 'wait', delayMs: 700, reason: 'rate limit' }]],
      ]),
    );

    await runBatch([sent, broken, flaky, limited], job, ops);

    expect(laters).toHaveLength(2);
    const retry = laters.find((later) => later.messageId === flaky.messageId)!;
    // Its own row id; the tries the batch left it (this one spent); the provider's Retry-After as a floor.
    expect(retry).toMatchObject({ jobId: flaky.jobId, attempts: 6, delayMs: 45_000 });
    expect(retry.blockerId).toBeUndefined();
    expect(laters.find((later) => later.messageId === limited.messageId)).toMatchObject({ jobId: limited.jobId, delayMs: 700, attempts: 7 });
  });

  it('a transient error other than the provider (a database hiccup) is retried with the jittered backoff of the batch try', async () => {
    const flaky = member();
    const { ops, laters } = fakeOps(new Map([[flaky.messageId, [new Error('connection reset')]]]));
    await runBatch([flaky], { ...job, attempt: 3 }, ops);
    // base 1000 ms, third try: between 2 and 4 seconds.
    expect(laters[0]!.delayMs).toBeGreaterThanOrEqual(2000);
    expect(laters[0]!.delayMs).toBeLessThanOrEqual(4000);
  });

  it('a member waiting for an earlier member runs again once that one is done, in the same run, with no job of its own', async () => {
    const [first, second] = [member(), member()];
    const { ops, log, laters } = fakeOps(
      new Map<string, Script>([
        [first.messageId, [{ kind: 'done' }]],
        [second.messageId, [{ kind: 'wait', delayMs: 2000, reason: 'order', blockerId: first.messageId }, { kind: 'done' }]],
      ]),
    );
    // The later message first: commit order within a batch is not conversation order.
    await runBatch([second, first], job, ops);
    expect(laters).toEqual([]);
    expect(log.indexOf(`again ${second.messageId}`)).toBeGreaterThan(log.indexOf(`end ${first.messageId}`));
    expect(log.filter((line) => line === `end ${second.messageId}`)).toHaveLength(2);
  });

  it('a member waiting for a member that went on alone goes on alone too, waiting on that message (no second claim)', async () => {
    const [first, second] = [member(), member()];
    const { ops, log, laters } = fakeOps(
      new Map<string, Script>([
        [first.messageId, [{ kind: 'wait', delayMs: 300, reason: 'rate limit' }]],
        [second.messageId, [{ kind: 'wait', delayMs: 2000, reason: 'order', blockerId: first.messageId }]],
      ]),
    );
    await runBatch([first, second], job, ops);
    expect(laters.map((later) => [later.messageId, later.delayMs, later.blockerId])).toEqual([
      [first.messageId, 300, undefined],
      [second.messageId, 2000, first.messageId],
    ]);
    expect(log).not.toContain(`again ${second.messageId}`);
  });

  it('waits in no cycle, and once at most for a blocker that stays queued', async () => {
    const [a, b, c, d] = [member(), member(), member(), member()];
    const order = (blockerId: string): RunEnd => ({ kind: 'wait', delayMs: 2000, reason: 'order', blockerId });
    const { ops, laters } = fakeOps(
      new Map<string, Script>([
        [a.messageId, [order(b.messageId)]],
        [b.messageId, [order(a.messageId)]],
        // c failed for good but is still queued: d's claim names it again after the rerun.
        [c.messageId, [DomainError.invalid('delivery.invalid_job', 'bad')]],
        [d.messageId, [order(c.messageId), order(c.messageId)]],
      ]),
    );
    await runBatch([a, b, c, d], job, ops);
    expect(laters.map((later) => later.messageId).sort()).toEqual([a.messageId, b.messageId, d.messageId].sort());
  });

  it('throws when a member cannot go on alone, after every member has finished its run', async () => {
    const [sent, limited] = [member(), member()];
    const { ops, log } = fakeOps(
      new Map<string, Script>([
        [sent.messageId, [{ kind: 'done' }]],
        [limited.messageId, [{ kind: 'wait', delayMs: 700, reason: 'rate limit' }]],
      ]),
      { failLater: true },
    );
    await expect(runBatch([sent, limited], job, ops)).rejects.toThrow('Redis is down');
    expect(log).toContain(`end ${sent.messageId}`);
  });

  it('drops members that name no message, and runs a member named twice once', async () => {
    const one = member();
    const { ops, log } = fakeOps(new Map([[one.messageId, [{ kind: 'done' } as RunEnd]]]));
    await runBatch([one, { ...one }, { messageId: 'nope', jobId: 'x' }, { messageId: uuidv7(), jobId: '' }], job, ops);
    expect(log).toEqual([`start ${one.messageId}`, `end ${one.messageId}`]);
  });
});
