import { describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import {
  canonicalLanguageTag,
  contactFieldErrors,
  customAttributesProblem,
  isCountryCode,
  isE164,
  isEmail,
  isLanguageTag,
  isTimeZone,
  normaliseContactFields,
} from './contact-fields.js';

describe('contact field rules', () => {
  it('accepts E.164 phone numbers only', () => {
    for (const ok of ['+14155550123', '+8613800138000', '+66812345678', '+12']) expect(isE164(ok), ok).toBe(true);
    for (const bad of ['14155550123', '+0123456', '+1 415 555 0123', '+1-415-555-0123', '+1234567890123456', '+', '+1', '']) {
      expect(isE164(bad), bad).toBe(false);
    }
  });

  it('accepts IANA time zones, aliases included, and refuses offsets and made-up zones', () => {
    for (const ok of ['Asia/Shanghai', 'America/New_York', 'Asia/Kolkata', 'Asia/Calcutta', 'UTC', 'Etc/GMT+8']) {
      expect(isTimeZone(ok), ok).toBe(true);
    }
    for (const bad of ['Mars/Olympus_Mons', '+08:00', 'GMT+8 ', '', 'Asia/', 'Asia/Shanghai/Extra']) expect(isTimeZone(bad), bad).toBe(false);
  });

  it('accepts BCP 47 language tags and canonicalises their case', () => {
    for (const ok of ['en', 'en-US', 'zh-Hans', 'zh-Hans-CN', 'th', 'pt-BR', 'yue-HK']) expect(isLanguageTag(ok), ok).toBe(true);
    for (const bad of ['en_US', 'english', '', 'en-', '12', 'x']) expect(isLanguageTag(bad), bad).toBe(false);
    expect(canonicalLanguageTag('EN-us')).toBe('en-US');
    expect(canonicalLanguageTag('zh-hans-cn')).toBe('zh-Hans-CN');
  });

  it('accepts assigned ISO 3166-1 alpha-2 country codes in upper case', () => {
    for (const ok of ['US', 'CN', 'TH', 'GB', 'HK', 'TW']) expect(isCountryCode(ok), ok).toBe(true);
    for (const bad of ['us', 'USA', 'UK', 'ZZ', 'XK', 'EU', '']) expect(isCountryCode(bad), bad).toBe(false);
  });

  it('accepts email addresses', () => {
    expect(isEmail('ada@example.com')).toBe(true);
    expect(isEmail('not an email')).toBe(false);
    expect(isEmail('ada@localhost')).toBe(false);
  });

  it('accepts flat custom attributes of at most 50 keys', () => {
    expect(customAttributesProblem({})).toBeNull();
    expect(customAttributesProblem({ plan: 'gold', bookings: 3, vip: true, note: null })).toBeNull();
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(customAttributesProblem(fifty)).toBeNull();
    expect(customAttributesProblem({ ...fifty, k50: 1 })).toMatch(/at most 50 keys/);
    expect(customAttributesProblem({ nested: { a: 1 } })).toMatch(/"nested"/);
    expect(customAttributesProblem({ list: [1, 2] })).toMatch(/"list"/);
    expect(customAttributesProblem({ n: Number.NaN })).toMatch(/"n"/);
    expect(customAttributesProblem({ '': 1 })).toMatch(/keys/);
    expect(customAttributesProblem([])).toBe('must be an object');
    expect(customAttributesProblem(null)).toBe('must be an object');
    expect(customAttributesProblem('x')).toBe('must be an object');
  });

  it('lists every bad field at once, and lets absent and null fields pass', () => {
    expect(contactFieldErrors({})).toEqual([]);
    expect(contactFieldErrors({ name: null, email: null, phone: null, language: null, timezone: null, country: null })).toEqual([]);
    const errors = contactFieldErrors({ email: 'x', phone: '123', language: 'en_US', timezone: 'Nowhere', country: 'usa', customAttributes: { a: {} } });
    expect(errors.map((e) => e.field)).toEqual(['email', 'phone', 'language', 'timezone', 'country', 'customAttributes']);
  });

  it('normalises valid fields and throws a request.invalid DomainError for invalid ones', () => {
    expect(normaliseContactFields({ email: 'ada@example.com', language: 'en-us' })).toEqual({ email: 'ada@example.com', language: 'en-US' });
    expect(() => normaliseContactFields({ phone: '555' })).toThrow(DomainError);
    try {
      normaliseContactFields({ phone: '555' });
    } catch (error) {
      expect(error).toMatchObject({ code: 'request.invalid', kind: 'invalid', details: { errors: [{ field: 'phone' }] } });
    }
  });
});
