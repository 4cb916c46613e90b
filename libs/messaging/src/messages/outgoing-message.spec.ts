import { describe, expect, it } from 'vitest';
import { assertOutgoingMessage } from './outgoing-message.js';

const template = { name: 'booking_reminder', language: 'en_US', parameters: ['Ada'] };
const fieldsOf = (run: () => void): string[] => {
  try {
    run();
  } catch (error) {
    return ((error as { details: { errors: Array<{ field: string }> } }).details.errors ?? []).map((e) => e.field);
  }
  return [];
};

describe('assertOutgoingMessage', () => {
  it('accepts a text, a note and a template message', () => {
    expect(() => assertOutgoingMessage({ type: 'text', body: 'Hello' })).not.toThrow();
    expect(() => assertOutgoingMessage({ type: 'note', body: 'Called them' })).not.toThrow();
    expect(() => assertOutgoingMessage({ type: 'template', template })).not.toThrow();
  });

  it('needs a non-empty body of at most 4096 characters for text and notes', () => {
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'text' }))).toEqual(['body']);
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'text', body: '   ' }))).toEqual(['body']);
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'note', body: '' }))).toEqual(['body']);
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'text', body: 'x'.repeat(4097) }))).toEqual(['body']);
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'text', body: 'x'.repeat(4096) }))).toEqual([]);
  });

  it('needs the template reference for a template message, and only there', () => {
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'template' }))).toEqual(['template']);
    expect(fieldsOf(() => assertOutgoingMessage({ type: 'text', body: 'hi', template }))).toEqual(['template']);
  });

  it('refuses a channel choice on a note, which is never sent', () => {
    const fields = fieldsOf(() => assertOutgoingMessage({ type: 'note', body: 'x', via: { identityId: 'a' }, fallback: ['b'] }));
    expect(fields).toEqual(['via', 'fallback']);
  });
});
