import { describe, expect, it } from 'vitest';
import { CHANNELS } from '#domain';
import { DEFAULT_SEND_RATES, sendRateOf } from './send-rate-limiter.js';
import { tokenTtlSeconds } from './token-cache.js';

describe('sendRateOf', () => {
  it("defaults to the provider's limit for one sender: WhatsApp 80/s per number, a Twilio long code 1/s", () => {
    expect(sendRateOf('whatsapp', {})).toBe(80);
    expect(sendRateOf('sms', {})).toBe(1);
    for (const channel of CHANNELS) expect(sendRateOf(channel, {})).toBe(DEFAULT_SEND_RATES[channel]);
  });

  it("takes the inbox's own sendRatePerSecond (a short code, a raised WhatsApp tier)", () => {
    expect(sendRateOf('sms', { sendRatePerSecond: 100 })).toBe(100);
    expect(sendRateOf('whatsapp', { sendRatePerSecond: 1000 })).toBe(1000);
  });

  it('ignores a rate that is not a positive number', () => {
    expect(sendRateOf('sms', { sendRatePerSecond: 0 })).toBe(1);
    expect(sendRateOf('sms', { sendRatePerSecond: Number.NaN })).toBe(1);
  });
});

describe('tokenTtlSeconds', () => {
  it('keeps a token until a tenth of its lifetime before expiry, at most five minutes before', () => {
    expect(tokenTtlSeconds(7200)).toBe(6900);
    expect(tokenTtlSeconds(600)).toBe(540);
    expect(tokenTtlSeconds(5)).toBe(5);
    expect(tokenTtlSeconds(0)).toBe(1);
  });
});
