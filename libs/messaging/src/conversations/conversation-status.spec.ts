import { describe, expect, it } from 'vitest';
import { conversationStatusPatch } from './conversations.service.js';

const now = new Date('2025-06-01T12:00:00Z');
const later = new Date('2025-06-02T12:00:00Z');

describe('conversationStatusPatch', () => {
  it('snoozes only with a wake-up time in the future', () => {
    expect(conversationStatusPatch({ status: 'open' }, { status: 'snoozed', snoozedUntil: later }, now)).toEqual({
      status: 'snoozed',
      snoozedUntil: later,
    });
    expect(conversationStatusPatch({ status: 'open' }, { status: 'snoozed', snoozedUntil: later.toISOString() }, now).snoozedUntil).toEqual(later);
    const invalid = expect.objectContaining({ code: 'request.invalid' });
    expect(() => conversationStatusPatch({ status: 'open' }, { status: 'snoozed' }, now)).toThrow(invalid);
    expect(() => conversationStatusPatch({ status: 'open' }, { status: 'snoozed', snoozedUntil: now }, now)).toThrow(invalid);
    expect(() => conversationStatusPatch({ status: 'open' }, { snoozedUntil: later }, now)).toThrow(invalid);
  });

  it('clears the snooze when the conversation leaves snoozed', () => {
    expect(conversationStatusPatch({ status: 'snoozed' }, { status: 'open' }, now)).toEqual({ status: 'open', snoozedUntil: null });
  });

  it('stamps resolved_at on resolving and clears it on reopening', () => {
    expect(conversationStatusPatch({ status: 'open' }, { status: 'resolved' }, now)).toEqual({ status: 'resolved', resolved: true });
    expect(conversationStatusPatch({ status: 'resolved' }, { status: 'pending' }, now)).toEqual({ status: 'pending', resolved: false });
    expect(conversationStatusPatch({ status: 'open' }, {}, now)).toEqual({});
  });
});
