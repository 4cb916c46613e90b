import { describe, expect, it } from 'vitest';
import { emailThreading, outboundRequest, statusCallbackUrl } from './outbound-request.js';

describe('emailThreading', () => {
  it("answers the customer's latest mail, lists the thread oldest first, keeps one Re:", () => {
    const thread = [
      { direction: 'out' as const, emailMessageId: '<out-2@ferry>', emailSubject: 'Re: Booking' },
      { direction: 'in' as const, emailMessageId: '<in-2@customer>', emailSubject: 'RE: Booking' },
      { direction: 'in' as const, emailMessageId: '<in-1@customer>', emailSubject: 'Booking' },
    ];
    expect(emailThreading(thread, 'Mekong Tours')).toEqual({
      subject: 'RE: Booking',
      inReplyTo: '<in-2@customer>',
      references: ['<in-1@customer>', '<in-2@customer>', '<out-2@ferry>'],
    });
  });

  it('prefixes a subject that has no Re: yet', () => {
    expect(emailThreading([{ direction: 'in', emailMessageId: '<a@b>', emailSubject: 'Visa question' }], 'x').subject).toBe('Re: Visa question');
  });

  it('a conversation without mail gets the fallback subject and no threading headers', () => {
    expect(emailThreading([], 'Mekong Tours')).toEqual({ subject: 'Re: Mekong Tours', references: [] });
  });
});

describe('outboundRequest', () => {
  const message = { id: '0192f0c1-0000-7000-8000-000000000001', conversationId: 'c1', body: 'Hello', template: null };

  it('carries our id, the recipient and the status callback URL of the inbox', () => {
    const request = outboundRequest({ message, to: '+14155550123', channel: 'sms', inboxId: 'i1', publicUrl: 'https://ferry.example', replyToken: null, email: undefined });
    expect(request).toEqual({
      messageId: message.id,
      conversationId: 'c1',
      to: '+14155550123',
      body: 'Hello',
      statusCallbackUrl: `https://ferry.example/hooks/sms/i1?messageId=${message.id}`,
    });
  });

  it('adds the template, the reply token and the email threading when there are some', () => {
    const request = outboundRequest({
      message: { ...message, template: { name: 'booking', language: 'en', parameters: ['Friday'] } },
      to: 'U123',
      channel: 'line',
      inboxId: 'i1',
      publicUrl: 'https://ferry.example',
      replyToken: 'rt-1',
      email: { subject: 'Re: x', references: [] },
    });
    expect(request).toMatchObject({ template: { name: 'booking', language: 'en', parameters: ['Friday'] }, replyToken: 'rt-1', email: { subject: 'Re: x' } });
  });

  it('escapes the message id in the callback URL', () => {
    expect(statusCallbackUrl('https://f.example', 'sms', 'i', 'a&b')).toBe('https://f.example/hooks/sms/i?messageId=a%26b');
  });
});
