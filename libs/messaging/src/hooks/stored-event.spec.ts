import { describe, expect, it } from 'vitest';
import type { HookEvent, InboundMessageEvent, StatusEvent } from '#channels';
import { eventJson, failureText, MalformedStoredEvent, rawBodyText, readStoredEvent } from './stored-event.js';

const message: InboundMessageEvent = {
  kind: 'message',
  providerEventId: 'wamid.1',
  providerMessageId: 'wamid.1',
  sender: { externalId: '14155550123', name: 'Ana', phone: '+14155550123' },
  body: 'Hello',
  attachments: [{ kind: 'image', ref: 'media-1', mimeType: 'image/jpeg' }],
  occurredAt: new Date('2026-01-02T03:04:05.000Z'),
  replyToken: { token: 'rt-1', expiresAt: new Date('2026-01-02T03:05:05.000Z') },
  email: { messageId: '<a@x>', inReplyTo: '<b@x>', references: ['<c@x>', '<b@x>'], subject: 'Trip', raw: 'MIME' },
};

const stored = (event: HookEvent): unknown => JSON.parse(eventJson(event));

describe('stored events', () => {
  it('round-trips a message event through its JSON, dates included', () => {
    expect(readStoredEvent('message', stored(message))).toEqual(message);
  });

  it('round-trips a status event and a contact event', () => {
    const status: StatusEvent = {
      kind: 'status',
      providerEventId: 'st-1',
      providerMessageId: 'wamid.9',
      messageId: '0192f1d2-7c1a-7b3e-9f00-4a2b1c3d4e5f',
      status: 'failed',
      error: { code: '131047', reason: 'Re-engagement message' },
      occurredAt: new Date('2026-01-02T03:04:05.000Z'),
    };
    expect(readStoredEvent('status', stored(status))).toEqual(status);
    const follow: HookEvent = { kind: 'contact', providerEventId: 'o1:1700000000', sender: { externalId: 'o1' }, action: 'subscribed', occurredAt: new Date(0) };
    expect(readStoredEvent('contact', stored(follow))).toEqual(follow);
  });

  it('replaces NUL characters and lone surrogates, which Postgres refuses, in every string', () => {
    const json = eventJson({ ...message, body: 'a\u0000b\uD800c', sender: { externalId: 'x\u0000' } });
    expect(json).not.toMatch(/\\u0000|\\ud800/i);
    const back = readStoredEvent('message', JSON.parse(json)) as InboundMessageEvent;
    expect(back.body).toBe('a\uFFFDb\uFFFDc');
    expect(back.sender.externalId).toBe('x\uFFFD');
  });

  it.each([
    ['a kind that is not the row kind', { ...(stored(message) as object), kind: 'status' }, /kind/],
    ['a missing provider event id', { ...(stored(message) as object), providerEventId: undefined }, /providerEventId/],
    ['a bad date', { ...(stored(message) as object), occurredAt: 'yesterday' }, /occurredAt/],
    ['a sender without an id', { ...(stored(message) as object), sender: { name: 'x' } }, /sender\.externalId/],
    ['an unknown attachment kind', { ...(stored(message) as object), attachments: [{ kind: 'hologram', ref: 'x' }] }, /attachments\[0\]\.kind/],
    ['not an object', 'hello', /event must be an object/],
  ])('refuses %s, naming it', (_case, value, reason) => {
    expect(() => readStoredEvent('message', value)).toThrow(MalformedStoredEvent);
    expect(() => readStoredEvent('message', value)).toThrow(reason);
  });

  it('refuses a status that is not a delivery status', () => {
    const event = { kind: 'status', providerEventId: 'e', providerMessageId: 'p', status: 'lost', occurredAt: new Date().toISOString() };
    expect(() => readStoredEvent('status', event)).toThrow(/status must be one of/);
  });

  it('keeps the raw body as text, cut with a note past the limit', () => {
    expect(rawBodyText(Buffer.alloc(0))).toBeNull();
    expect(rawBodyText(Buffer.from('<xml>ok</xml>'))).toBe('<xml>ok</xml>');
    expect(rawBodyText(Buffer.from([0x61, 0x00, 0xff]))).toBe('a\uFFFD\uFFFD');
    const cut = rawBodyText(Buffer.from('x'.repeat(100)), 10)!;
    expect(cut.startsWith('x'.repeat(10) + '\n[cut: 100 bytes in all')).toBe(true);
  });

  it('describes a failure with its code when it has one', () => {
    expect(failureText(Object.assign(new Error('Inbox not found'), { code: 'inbox.not_found' }))).toBe('inbox.not_found: Inbox not found');
    expect(failureText(new TypeError('boom'))).toBe('TypeError: boom');
  });
});
