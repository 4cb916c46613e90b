import { describe, expect, it } from 'vitest';
import type { Channel } from './enums.js';
import {
  assessReachability,
  canSendNow,
  hasSendQuota,
  type MessageKind,
  type ReachabilityFacts,
  type ReachabilityReason,
  reachabilityRefusal,
} from './reachability.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MS = 1;
const HOUR = 3_600_000;
const ago = (ms: number): Date => new Date(NOW.getTime() - ms);
const later = (ms: number): Date => new Date(NOW.getTime() + ms);

function facts(channel: Channel, overrides: Partial<ReachabilityFacts> = {}): ReachabilityFacts {
  return { channel, lastInboundAt: null, sentSinceInbound: 0, replyTokenExpiresAt: null, unsubscribedAt: null, ...overrides };
}

interface Case {
  name: string;
  facts: ReachabilityFacts;
  kind: MessageKind;
  /** The verdict for `kind`: true, or the reason it is refused. */
  verdict: true | ReachabilityReason;
  until: Date | null;
  remaining: number | null;
  templatesAllowed: boolean;
}

const row = (
  name: string,
  f: ReachabilityFacts,
  kind: MessageKind,
  verdict: Case['verdict'],
  until: Date | null,
  remaining: number | null,
  templatesAllowed: boolean,
): Case => ({ name, facts: f, kind, verdict, until, remaining, templatesAllowed });

const W = 24 * HOUR; // WhatsApp window
const C = 48 * HOUR; // WeChat window

const CASES: Case[] = [
  // WhatsApp: free-form within 24 h of the customer's last message; templates always.
  row('whatsapp, wrote an hour ago, text', facts('whatsapp', { lastInboundAt: ago(HOUR) }), 'free_form', true, later(W - HOUR), null, true),
  row('whatsapp, window closing: 1 ms left, text', facts('whatsapp', { lastInboundAt: ago(W - MS) }), 'free_form', true, later(MS), null, true),
  row('whatsapp, exactly at the boundary, text', facts('whatsapp', { lastInboundAt: ago(W) }), 'free_form', 'reachability.window_closed', NOW, 0, true),
  row('whatsapp, 1 ms after the boundary, text', facts('whatsapp', { lastInboundAt: ago(W + MS) }), 'free_form', 'reachability.window_closed', ago(MS), 0, true),
  row('whatsapp, closed a day ago, text', facts('whatsapp', { lastInboundAt: ago(2 * W) }), 'free_form', 'reachability.window_closed', ago(W), 0, true),
  row('whatsapp, closed a day ago, template', facts('whatsapp', { lastInboundAt: ago(2 * W) }), 'template', true, ago(W), 0, true),
  row('whatsapp, never wrote, text', facts('whatsapp'), 'free_form', 'reachability.window_closed', null, 0, true),
  row('whatsapp, never wrote, template', facts('whatsapp'), 'template', true, null, 0, true),
  row('whatsapp, open, template', facts('whatsapp', { lastInboundAt: ago(HOUR) }), 'template', true, later(W - HOUR), null, true),
  row('whatsapp, many sent: no quota', facts('whatsapp', { lastInboundAt: ago(HOUR), sentSinceInbound: 500 }), 'free_form', true, later(W - HOUR), null, true),
  row('whatsapp, unsubscribed, template', facts('whatsapp', { lastInboundAt: ago(HOUR), unsubscribedAt: ago(MS) }), 'template', 'reachability.unsubscribed', later(W - HOUR), 0, false),

  // WeChat: 5 customer-service messages within 48 h of the user's last message; no templates outside it.
  row('wechat, wrote an hour ago, none sent', facts('wechat', { lastInboundAt: ago(HOUR) }), 'free_form', true, later(C - HOUR), 5, true),
  row('wechat, 4 sent: the 5th is ok', facts('wechat', { lastInboundAt: ago(HOUR), sentSinceInbound: 4 }), 'free_form', true, later(C - HOUR), 1, true),
  row('wechat, 5 sent: the 6th is refused', facts('wechat', { lastInboundAt: ago(HOUR), sentSinceInbound: 5 }), 'free_form', 'reachability.quota_exhausted', later(C - HOUR), 0, false),
  row('wechat, 7 sent (overrun): still 0 left', facts('wechat', { lastInboundAt: ago(HOUR), sentSinceInbound: 7 }), 'free_form', 'reachability.quota_exhausted', later(C - HOUR), 0, false),
  row('wechat, quota used, template too', facts('wechat', { lastInboundAt: ago(HOUR), sentSinceInbound: 5 }), 'template', 'reachability.quota_exhausted', later(C - HOUR), 0, false),
  row('wechat, 1 ms left', facts('wechat', { lastInboundAt: ago(C - MS), sentSinceInbound: 2 }), 'free_form', true, later(MS), 3, true),
  row('wechat, exactly at the boundary', facts('wechat', { lastInboundAt: ago(C) }), 'free_form', 'reachability.window_closed', NOW, 0, false),
  row('wechat, 1 ms after the boundary', facts('wechat', { lastInboundAt: ago(C + MS) }), 'free_form', 'reachability.window_closed', ago(MS), 0, false),
  row('wechat, closed, template', facts('wechat', { lastInboundAt: ago(C + HOUR) }), 'template', 'reachability.window_closed', ago(HOUR), 0, false),
  row('wechat, closed and quota used: closed wins', facts('wechat', { lastInboundAt: ago(C + HOUR), sentSinceInbound: 5 }), 'free_form', 'reachability.window_closed', ago(HOUR), 0, false),
  row('wechat, unfollowed', facts('wechat', { lastInboundAt: ago(HOUR), unsubscribedAt: ago(MS) }), 'free_form', 'reachability.unsubscribed', later(C - HOUR), 0, false),

  // LINE: push always possible (the reply token is reported apart).
  row('line, never wrote', facts('line'), 'free_form', true, null, null, true),
  row('line, wrote a week ago', facts('line', { lastInboundAt: ago(7 * W) }), 'free_form', true, null, null, true),
  row('line, template', facts('line'), 'template', true, null, null, true),
  row('line, unfollowed', facts('line', { unsubscribedAt: ago(HOUR) }), 'free_form', 'reachability.unsubscribed', null, 0, false),

  // No window: SMS, email, Telegram, api, webchat.
  ...(['sms', 'email', 'telegram', 'api', 'webchat'] as const).flatMap((channel) => [
    row(`${channel}, never wrote`, facts(channel), 'free_form', true, null, null, true),
    row(`${channel}, wrote a month ago, 100 sent`, facts(channel, { lastInboundAt: ago(30 * W), sentSinceInbound: 100 }), 'free_form', true, null, null, true),
    row(`${channel}, template`, facts(channel), 'template', true, null, null, true),
    row(`${channel}, unsubscribed`, facts(channel, { unsubscribedAt: ago(HOUR) }), 'free_form', 'reachability.unsubscribed', null, 0, false),
  ]),
];

describe('reachability rules (clock injected)', () => {
  it.each(CASES)('$name', ({ facts: f, kind, verdict, until, remaining, templatesAllowed }) => {
    const r = assessReachability(f, NOW);
    expect(canSendNow(r, kind)).toEqual(verdict === true ? { ok: true } : { ok: false, reason: verdict });
    expect(r.freeFormUntil).toEqual(until);
    expect(r.remaining).toBe(remaining);
    expect(r.templatesAllowed).toBe(templatesAllowed);
    // The reason explains free-form sends: set exactly when they are refused.
    expect(r.canSendFreeForm).toBe(r.reason === null);
  });

  it.each([
    ['fresh token', later(30_000), later(30_000)],
    ['expires in 1 ms', later(MS), later(MS)],
    ['expires exactly now', NOW, null],
    ['expired 1 ms ago', ago(MS), null],
    ['no token', null, null],
  ] as const)('LINE reply token: %s', (_name, expiresAt, until) => {
    const r = assessReachability(facts('line', { lastInboundAt: ago(HOUR), replyTokenExpiresAt: expiresAt }), NOW);
    expect(r.replyTokenUntil).toEqual(until);
    expect(r.canSendFreeForm).toBe(true); // push works with or without the token
  });

  it('only WeChat has a quota that concurrent sends must not overrun', () => {
    expect(hasSendQuota('wechat')).toBe(true);
    for (const channel of ['whatsapp', 'line', 'sms', 'email', 'telegram', 'api', 'webchat'] as const) expect(hasSendQuota(channel)).toBe(false);
  });

  describe('refusals say until when and what to do', () => {
    it('WhatsApp window closed: when it closed, and send a template or another identity', () => {
      const r = assessReachability(facts('whatsapp', { lastInboundAt: ago(W + HOUR) }), NOW);
      const error = reachabilityRefusal('whatsapp', r, 'reachability.window_closed');
      expect(error).toMatchObject({ code: 'reachability.window_closed', kind: 'unprocessable' });
      expect(error.message).toContain(ago(HOUR).toISOString());
      expect(error.message).toContain('template');
      expect(error.message).toContain('another identity');
    });

    it('WhatsApp never written: says so', () => {
      const error = reachabilityRefusal('whatsapp', assessReachability(facts('whatsapp'), NOW), 'reachability.window_closed');
      expect(error.message).toContain('never opened');
    });

    it('WeChat quota used: the quota, the window end, no template advice', () => {
      const r = assessReachability(facts('wechat', { lastInboundAt: ago(HOUR), sentSinceInbound: 5 }), NOW);
      const error = reachabilityRefusal('wechat', r, 'reachability.quota_exhausted');
      expect(error.code).toBe('reachability.quota_exhausted');
      expect(error.message).toContain('5 messages within 48 hours');
      expect(error.message).toContain(later(C - HOUR).toISOString());
      expect(error.message).not.toContain('template');
    });

    it('unsubscribed: pick another identity', () => {
      const r = assessReachability(facts('line', { unsubscribedAt: ago(HOUR) }), NOW);
      const error = reachabilityRefusal('line', r, 'reachability.unsubscribed');
      expect(error.code).toBe('reachability.unsubscribed');
      expect(error.message).toContain('another identity');
    });
  });
});
