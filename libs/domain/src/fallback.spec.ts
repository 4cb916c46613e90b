import { describe, expect, it } from 'vitest';
import type { MessageStatus } from './enums.js';
import { deadlineDecision, type DeadlineState, receiptEffect, type ReceiptEffect, routeAhead, startsDeadline } from './fallback.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const at = (ms: number): Date => new Date(NOW.getTime() + ms);
const [A, B, C] = ['id-wechat', 'id-whatsapp', 'id-sms'];

describe('routeAhead: the identities still ahead of the current one', () => {
  it.each([
    { name: 'on the first identity: the whole list', current: A, fallback: [B, C], ahead: [B, C] },
    { name: 'on the first fallback: the rest', current: B, fallback: [B, C], ahead: [C] },
    { name: 'on the last: nothing', current: C, fallback: [B, C], ahead: [] },
    { name: 'no fallback', current: A, fallback: [], ahead: [] },
    { name: 'identity deleted (null): the whole list', current: null, fallback: [B, C], ahead: [B, C] },
  ])('$name', ({ current, fallback, ahead }) => {
    expect(routeAhead(current, fallback)).toEqual(ahead);
  });
});

describe('startsDeadline: only where a receipt can come and a hop is left', () => {
  it.each([
    { channel: 'whatsapp', ahead: [C], starts: true },
    { channel: 'sms', ahead: [A], starts: true },
    { channel: 'whatsapp', ahead: [], starts: false },
    // WeChat customer-service messages, email, Telegram, LINE report no delivery: a deadline would always fire.
    { channel: 'wechat', ahead: [B], starts: false },
    { channel: 'email', ahead: [B], starts: false },
    { channel: 'telegram', ahead: [B], starts: false },
    { channel: 'line', ahead: [B], starts: false },
  ] as const)('$channel with $ahead.length ahead: $starts', ({ channel, ahead, starts }) => {
    expect(startsDeadline(channel, ahead)).toBe(starts);
  });
});

describe('deadlineDecision (injected clock)', () => {
  const sent = { status: 'sent' as MessageStatus, identityId: B, externalId: 'wamid.1' };
  const attempt = { identityId: B, providerMessageId: 'wamid.1', receiptStatus: 'sent' as MessageStatus | null };
  const state = (over: Partial<DeadlineState>): DeadlineState => ({ now: NOW, dueAt: NOW, message: sent, attempt, ...over });

  it.each<{ name: string; state: DeadlineState; decision: ReturnType<typeof deadlineDecision> }>([
    { name: 'before the deadline: waits the rest', state: state({ dueAt: at(1500) }), decision: { kind: 'wait', delayMs: 1500 } },
    { name: '1 ms before: waits 1 ms', state: state({ dueAt: at(1) }), decision: { kind: 'wait', delayMs: 1 } },
    { name: 'exactly at the deadline, no receipt: hops', state: state({ dueAt: NOW }), decision: { kind: 'hop' } },
    { name: 'after the deadline, only a sent receipt: hops', state: state({ dueAt: at(-60_000) }), decision: { kind: 'hop' } },
    { name: 'no receipt at all: hops', state: state({ attempt: { ...attempt, receiptStatus: null } }), decision: { kind: 'hop' } },
    {
      name: 'delivered receipt on the attempt: stops',
      state: state({ attempt: { ...attempt, receiptStatus: 'delivered' } }),
      decision: { kind: 'stop', reason: 'delivered' },
    },
    { name: 'read receipt: stops', state: state({ attempt: { ...attempt, receiptStatus: 'read' } }), decision: { kind: 'stop', reason: 'delivered' } },
    {
      name: 'message delivered (the receipt won the race): stops',
      state: state({ message: { ...sent, status: 'delivered' } }),
      decision: { kind: 'stop', reason: 'message is delivered' },
    },
    {
      name: 'message queued on the next hop already (a second run): stops',
      state: state({ message: { status: 'queued', identityId: C, externalId: null } }),
      decision: { kind: 'stop', reason: 'message is queued' },
    },
    {
      name: 'message failed: stops',
      state: state({ message: { ...sent, status: 'failed' } }),
      decision: { kind: 'stop', reason: 'message is failed' },
    },
    {
      name: 'message sent on a later hop: not this attempt, stops',
      state: state({ message: { status: 'sent', identityId: C, externalId: 'SM1' } }),
      decision: { kind: 'stop', reason: 'the attempt is no longer the current hop' },
    },
    {
      name: 'same identity, sent again with another provider id: stops',
      state: state({ message: { ...sent, externalId: 'wamid.2' } }),
      decision: { kind: 'stop', reason: 'the attempt is no longer the current hop' },
    },
    { name: 'message gone: stops', state: state({ message: null }), decision: { kind: 'stop', reason: 'message or attempt gone' } },
    {
      name: 'decided by an earlier run (it stayed, nowhere to go): stops',
      state: state({ dueAt: at(-60_000), attempt: { ...attempt, fallbackCheckedAt: at(-30_000) } }),
      decision: { kind: 'stop', reason: 'the deadline was decided already' },
    },
    { name: 'not decided yet (null): hops', state: state({ attempt: { ...attempt, fallbackCheckedAt: null } }), decision: { kind: 'hop' } },
  ])('$name', ({ state: s, decision }) => {
    expect(deadlineDecision(s)).toEqual(decision);
  });
});

describe('receiptEffect: the message follows its current hop only', () => {
  const on = (status: MessageStatus, identityId: string | null = C) => ({ status, identityId });
  it.each<{ name: string; message: ReturnType<typeof on>; attempt: { identityId: string | null } | null; receipt: MessageStatus; effect: ReceiptEffect }>([
    { name: 'current hop delivered', message: on('sent'), attempt: { identityId: C }, receipt: 'delivered', effect: { kind: 'current' } },
    { name: 'current hop failed', message: on('sent'), attempt: { identityId: C }, receipt: 'failed', effect: { kind: 'current' } },
    { name: 'no attempt matched (legacy send): current', message: on('sent'), attempt: null, receipt: 'delivered', effect: { kind: 'current' } },
    {
      name: 'earlier hop delivered while the next is queued: adopted',
      message: on('queued'),
      attempt: { identityId: A },
      receipt: 'delivered',
      effect: { kind: 'adopt', status: 'delivered' },
    },
    {
      name: 'earlier hop delivered while the next is sent: adopted',
      message: on('sent'),
      attempt: { identityId: A },
      receipt: 'delivered',
      effect: { kind: 'adopt', status: 'delivered' },
    },
    { name: 'earlier hop read: adopted as read', message: on('sent'), attempt: { identityId: A }, receipt: 'read', effect: { kind: 'adopt', status: 'read' } },
    {
      name: 'earlier hop delivered after the route failed: the customer got it',
      message: on('failed'),
      attempt: { identityId: A },
      receipt: 'delivered',
      effect: { kind: 'adopt', status: 'delivered' },
    },
    {
      name: 'earlier hop delivered after the next one delivered: never delivered twice',
      message: on('delivered'),
      attempt: { identityId: A },
      receipt: 'delivered',
      effect: { kind: 'attempt_only' },
    },
    { name: 'earlier hop read after the next one read', message: on('read'), attempt: { identityId: A }, receipt: 'read', effect: { kind: 'attempt_only' } },
    { name: 'earlier hop failed late: never fails the message', message: on('sent'), attempt: { identityId: A }, receipt: 'failed', effect: { kind: 'attempt_only' } },
    { name: 'earlier hop sent late', message: on('queued'), attempt: { identityId: A }, receipt: 'sent', effect: { kind: 'attempt_only' } },
  ])('$name', ({ message, attempt, receipt, effect }) => {
    expect(receiptEffect(message, attempt, receipt)).toEqual(effect);
  });
});
