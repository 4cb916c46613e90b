import { describe, expect, it } from 'vitest';
import { chooseIdentity, type CandidateIdentity, policyFallback } from './identity-choice.js';

const at = (iso: string) => new Date(iso);
const identity = (id: string, createdAt: string, lastInboundAt: string | null = null): CandidateIdentity => ({
  id,
  createdAt: at(createdAt),
  lastInboundAt: lastInboundAt ? at(lastInboundAt) : null,
});

describe('chooseIdentity', () => {
  const wechat = identity('wechat', '2025-01-01T00:00:00Z', '2025-03-01T10:00:00Z');
  const sms = identity('sms', '2025-02-01T00:00:00Z', '2025-03-02T10:00:00Z');
  const email = identity('email', '2025-04-01T00:00:00Z');

  it('defaults to the identity the customer last wrote on', () => {
    expect(chooseIdentity([wechat, sms, email]).identity.id).toBe('sms');
    expect(chooseIdentity([email, sms, wechat]).identity.id).toBe('sms');
  });

  it('prefers any identity the customer wrote on over a newer silent one', () => {
    expect(chooseIdentity([email, wechat]).identity.id).toBe('wechat');
  });

  it('falls back to the newest identity when the customer never wrote', () => {
    const older = identity('older', '2025-01-01T00:00:00Z');
    const newer = identity('newer', '2025-05-01T00:00:00Z');
    expect(chooseIdentity([newer, older]).identity.id).toBe('newer');
    expect(chooseIdentity([older, newer]).identity.id).toBe('newer');
  });

  it('uses the explicit via identity when it is the contact\'s', () => {
    expect(chooseIdentity([wechat, sms, email], 'email').identity.id).toBe('email');
  });

  it('refuses a via identity that is not the contact\'s', () => {
    expect(() => chooseIdentity([wechat, sms], 'someone-else')).toThrow(
      expect.objectContaining({ code: 'message.invalid_identity', kind: 'invalid' }),
    );
  });

  it('answers reachability.no_identity (unprocessable) when the contact has no identity', () => {
    expect(() => chooseIdentity([])).toThrow(expect.objectContaining({ code: 'reachability.no_identity', kind: 'unprocessable' }));
  });

  it('keeps a valid fallback list in order and refuses strangers, repeats and the first hop', () => {
    expect(chooseIdentity([wechat, sms, email], 'wechat', ['email', 'sms']).fallback).toEqual(['email', 'sms']);
    const invalid = expect.objectContaining({ code: 'message.invalid_identity' });
    expect(() => chooseIdentity([wechat, sms], 'wechat', ['stranger'])).toThrow(invalid);
    expect(() => chooseIdentity([wechat, sms], 'wechat', ['sms', 'sms'])).toThrow(invalid);
    expect(() => chooseIdentity([wechat, sms], 'wechat', ['wechat'])).toThrow(invalid);
  });
});

describe('policyFallback: the route the workspace policy gives a reply without fallback', () => {
  const on = (channel: string, id: string, createdAt: string, lastInboundAt: string | null = null) => ({ ...identity(id, createdAt, lastInboundAt), channel });
  const wa = on('whatsapp', 'wa', '2025-01-01T00:00:00Z', '2025-03-01T10:00:00Z');
  const smsOld = on('sms', 'sms-old', '2025-01-01T00:00:00Z', '2025-02-01T10:00:00Z');
  const smsNew = on('sms', 'sms-new', '2025-02-01T00:00:00Z', '2025-03-05T10:00:00Z');
  const mail = on('email', 'mail', '2025-04-01T00:00:00Z');
  const all = [wa, smsOld, smsNew, mail];

  it.each([
    { name: 'channels in the policy order, the best identity of each', first: 'wa', channels: ['email', 'sms'], route: ['mail', 'sms-new'] },
    { name: 'the identity sent on first is left out', first: 'sms-new', channels: ['sms', 'whatsapp'], route: ['sms-old', 'wa'] },
    { name: 'channels the contact has no identity on are skipped', first: 'wa', channels: ['wechat', 'line', 'email'], route: ['mail'] },
    { name: 'the first identity alone on its channel', first: 'wa', channels: ['whatsapp'], route: [] },
    { name: 'an empty policy: no fallback', first: 'wa', channels: [], route: [] },
    { name: 'a channel listed twice counts once', first: 'wa', channels: ['email', 'email'], route: ['mail'] },
  ])('$name', ({ first, channels, route }) => {
    expect(policyFallback(all, first, channels)).toEqual(route);
  });
});
