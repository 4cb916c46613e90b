import { describe, expect, it } from 'vitest';
import { contactOfSender } from './sender-contact.js';

describe('contactOfSender', () => {
  it('gives a WhatsApp sender the phone of their wa_id, in E.164 with its plus', () => {
    expect(contactOfSender('whatsapp', { externalId: '14155550123', name: ' Ana ' })).toEqual({
      externalId: '14155550123',
      name: 'Ana',
      phone: '+14155550123',
      email: null,
    });
    expect(contactOfSender('whatsapp', { externalId: '14155550123', phone: '14155550123' }).phone).toBe('+14155550123');
  });

  it('gives a WhatsApp user known only by a business-scoped id no phone', () => {
    expect(contactOfSender('whatsapp', { externalId: 'US.13491208655302741918' }).phone).toBeNull();
  });

  it("gives an email sender their address, and an SMS sender their number", () => {
    expect(contactOfSender('email', { externalId: 'ana@example.test' }).email).toBe('ana@example.test');
    expect(contactOfSender('sms', { externalId: '+14155550123' }).phone).toBe('+14155550123');
  });

  it('drops what does not fit the contact rules instead of refusing the message', () => {
    const contact = contactOfSender('telegram', { externalId: '42', name: 'n'.repeat(300), phone: 'call me', email: 'not-an-email' });
    expect(contact).toEqual({ externalId: '42', name: 'n'.repeat(200), phone: null, email: null });
    expect(contactOfSender('sms', { externalId: '12345' }).phone).toBeNull(); // a short code is not a phone
  });
});
