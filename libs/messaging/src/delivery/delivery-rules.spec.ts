import { describe, expect, it } from 'vitest';
import type { SendOutcome } from '#channels';
import { nextStep, ORDER_WAIT_MS, planOutcome, type SendState } from './delivery-rules.js';

const queued: SendState = {
  message: { direction: 'out', status: 'queued' },
  earlierQueuedId: null,
  openAttempt: null,
  inDoubtGraceMs: 30_000,
};

describe('nextStep', () => {
  it('sends a queued outbound message with nothing before it', () => {
    expect(nextStep(queued)).toEqual({ kind: 'send', unconfirmedAttemptId: null });
  });

  it('skips what is not a queued outbound message', () => {
    expect(nextStep({ ...queued, message: null })).toMatchObject({ kind: 'skip' });
    expect(nextStep({ ...queued, message: { direction: 'note', status: 'received' } })).toMatchObject({ kind: 'skip' });
    expect(nextStep({ ...queued, message: { direction: 'in', status: 'received' } })).toMatchObject({ kind: 'skip' });
    for (const status of ['sent', 'delivered', 'read', 'failed'] as const) {
      expect(nextStep({ ...queued, message: { direction: 'out', status } })).toEqual({ kind: 'skip', reason: `already ${status}` });
    }
  });

  it('waits while an earlier message of the conversation is queued, naming it', () => {
    expect(nextStep({ ...queued, earlierQueuedId: 'earlier' })).toEqual({ kind: 'wait', delayMs: ORDER_WAIT_MS, reason: 'order', blockerId: 'earlier' });
  });

  it('waits for the receipt of a try left in doubt for the rest of the grace period', () => {
    expect(nextStep({ ...queued, openAttempt: { id: 'a1', ageMs: 12_000.4 } })).toEqual({ kind: 'wait', delayMs: 18_000, reason: 'in_doubt' });
  });

  it('sends again once the grace period is over, closing the open try', () => {
    expect(nextStep({ ...queued, openAttempt: { id: 'a1', ageMs: 30_000 } })).toEqual({ kind: 'send', unconfirmedAttemptId: 'a1' });
  });

  it('keeps the order before anything else: an earlier message waits even when a try is in doubt', () => {
    expect(nextStep({ ...queued, earlierQueuedId: 'earlier', openAttempt: { id: 'a1', ageMs: 60_000 } })).toMatchObject({ reason: 'order' });
  });
});

const ok: SendOutcome = { ok: true, providerMessageId: 'wamid.1', providerRequestId: 'req-1', responseCode: '200' };
const transient: SendOutcome = { ok: false, permanent: false, code: 'provider.http_503', reason: 'Service Unavailable', responseCode: '503' };
const permanent: SendOutcome = { ok: false, permanent: true, code: 'whatsapp.131047', reason: 'Re-engagement message', responseCode: '400' };

describe('planOutcome', () => {
  it('ok: attempt sent with the provider ids; message sent with the provider message id', () => {
    expect(planOutcome(ok, 'queued', false)).toEqual({
      attempt: { status: 'sent', providerMessageId: 'wamid.1', providerRequestId: 'req-1', responseCode: '200', errorCode: null, error: null },
      message: { kind: 'sent', externalId: 'wamid.1', advance: true },
      retry: null,
    });
  });

  it('ok after a receipt already moved the message on: keeps its status, still records the provider id', () => {
    expect(planOutcome(ok, 'delivered', false).message).toEqual({ kind: 'sent', externalId: 'wamid.1', advance: false });
  });

  it('permanent: attempt and message failed with the provider code and reason, no retry', () => {
    const plan = planOutcome(permanent, 'queued', false);
    expect(plan.attempt).toMatchObject({ status: 'failed', errorCode: 'whatsapp.131047', error: 'Re-engagement message', responseCode: '400' });
    expect(plan.message).toEqual({ kind: 'failed', errorCode: 'whatsapp.131047', errorReason: 'Re-engagement message' });
    expect(plan.retry).toBeNull();
  });

  it('transient: attempt retrying, message stays queued, retry carrying Retry-After', () => {
    const plan = planOutcome({ ...transient, retryAfterMs: 7000 }, 'queued', false);
    expect(plan.attempt.status).toBe('retrying');
    expect(plan.message).toBeNull();
    expect(plan.retry).toEqual({ reason: 'provider.http_503: Service Unavailable', retryAfterMs: 7000 });
  });

  it('a timeout, or an adapter that threw, is in doubt: the retry waits for a receipt first', () => {
    expect(planOutcome({ ok: false, permanent: false, code: 'provider.timeout', reason: 'No answer' }, 'queued', false).attempt.status).toBe('in_doubt');
    expect(planOutcome({ ok: false, permanent: false, code: 'adapter.error', reason: 'boom' }, 'queued', false).attempt.status).toBe('in_doubt');
    expect(planOutcome({ ok: false, permanent: false, code: 'provider.network_error', reason: 'ECONNREFUSED' }, 'queued', false).attempt.status).toBe(
      'retrying',
    );
  });

  it('transient on the last try: fails the message with the last reason', () => {
    const plan = planOutcome(transient, 'queued', true);
    expect(plan.message).toEqual({ kind: 'failed', errorCode: 'provider.http_503', errorReason: 'Service Unavailable' });
    expect(plan.attempt.status).toBe('failed');
    expect(plan.retry).toBeNull();
  });

  it('a failure after a receipt settled the message changes nothing and retries nothing', () => {
    expect(planOutcome(transient, 'sent', false)).toMatchObject({ attempt: { status: 'sent' }, message: null, retry: null });
    expect(planOutcome(permanent, 'delivered', false)).toMatchObject({ message: null, retry: null });
    expect(planOutcome(transient, 'failed', false)).toMatchObject({ attempt: { status: 'failed' }, message: null, retry: null });
  });
});
