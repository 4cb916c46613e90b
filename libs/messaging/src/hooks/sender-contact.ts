import type { SenderProfile } from '#channels';
import type { Channel } from '#domain';
import { isE164, isEmail } from '../contacts/contact-fields.js';
import type { InboundMessage } from '../conversations/inbound.service.js';

/**
 * The contact fields a provider's sender profile gives, made to fit the contact rules: a value that
 * does not fit (a malformed phone, an overlong name) is dropped rather than block the customer's message.
 * The phone and email matter beyond display: they link the same person across channels.
 */
export function contactOfSender(channel: Channel, sender: SenderProfile): InboundMessage['contact'] {
  const externalId = sender.externalId;
  return {
    externalId,
    name: sender.name?.trim().slice(0, 200) || null,
    phone: phoneOf(channel, sender),
    email: emailOf(channel, sender),
  };
}

function phoneOf(channel: Channel, sender: SenderProfile): string | null {
  let phone = sender.phone?.replace(/[\s().-]/g, '');
  if (channel === 'whatsapp') {
    // WhatsApp's wa_id is the number in E.164 without its plus (a BSUID is not a number: no phone).
    phone ??= /^\d{6,15}$/.test(sender.externalId) ? sender.externalId : undefined;
    if (phone && /^[1-9]\d{5,14}$/.test(phone)) phone = `+${phone}`;
  }
  if (!phone && channel === 'sms') phone = sender.externalId;
  return phone && isE164(phone) ? phone : null;
}

function emailOf(channel: Channel, sender: SenderProfile): string | null {
  const email = sender.email?.trim() || (channel === 'email' ? sender.externalId.trim() : '');
  return email && isEmail(email) ? email : null;
}
