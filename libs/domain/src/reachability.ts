import { DomainError } from './domain-error.js';
import type { Channel } from './enums.js';

/*
 * Reachability: whether Ferry can send to one contact identity now, and until when. Pure rules with
 * the clock passed in (`now`), so the edges are testable to the millisecond. Windows are half-open:
 * a window that opened at t is open for every instant before t + length, and closed at t + length.
 */

const HOUR_MS = 3_600_000;

export const REACHABILITY_REASONS = [
  'reachability.window_closed',
  'reachability.quota_exhausted',
  'reachability.unsubscribed',
  'reachability.no_identity',
] as const;
export type ReachabilityReason = (typeof REACHABILITY_REASONS)[number];

/** A free-form message (text, media) or a provider-approved template. */
export type MessageKind = 'free_form' | 'template';

/** A channel's rule for messages the customer did not just ask for. */
export interface WindowRule {
  /** How long after the customer's last message free-form messages may be sent. */
  windowMs: number;
  /** How many may be sent within that window (null: no limit). */
  quota: number | null;
  /** An approved template may be sent outside the window (WhatsApp). */
  templatesOutsideWindow: boolean;
}

/**
 * One entry per channel: null means no window (push always possible). To add a channel, add its rule;
 * the type refuses a channel without one. LINE has no window (push is always possible); its reply
 * token only makes a reply free, which the assessment reports apart.
 */
export const WINDOW_RULES: { readonly [C in Channel]: WindowRule | null } = {
  whatsapp: { windowMs: 24 * HOUR_MS, quota: null, templatesOutsideWindow: true },
  wechat: { windowMs: 48 * HOUR_MS, quota: 5, templatesOutsideWindow: false },
  line: null,
  sms: null,
  email: null,
  telegram: null,
  webchat: null,
  api: null,
};

/** What is known of one identity: the inputs of the rules. */
export interface ReachabilityFacts {
  channel: Channel;
  /** When the customer last wrote on this identity (null: never). */
  lastInboundAt: Date | null;
  /** Outbound messages on this identity since lastInboundAt, failed ones excluded. */
  sentSinceInbound: number;
  /** LINE: when the latest reply token expires. */
  replyTokenExpiresAt: Date | null;
  /** The customer unfollowed or unsubscribed on this channel. */
  unsubscribedAt: Date | null;
}

export interface Reachability {
  /** A free-form message can be sent now. */
  canSendFreeForm: boolean;
  /** When the free-form window ends (or ended); null when the channel has none or it never opened. */
  freeFormUntil: Date | null;
  /** Free-form messages left in the window; null when unlimited. */
  remaining: number | null;
  /** A template message can be sent now. */
  templatesAllowed: boolean;
  /** LINE: a reply token is fresh until then (a free reply); null when none is. */
  replyTokenUntil: Date | null;
  /** Why a free-form message cannot be sent now; null when it can. */
  reason: ReachabilityReason | null;
}

export type SendVerdict = { ok: true } | { ok: false; reason: ReachabilityReason };

/** The rules applied to one identity at `now`. */
export function assessReachability(facts: ReachabilityFacts, now: Date): Reachability {
  const at = now.getTime();
  const replyTokenUntil = facts.replyTokenExpiresAt && facts.replyTokenExpiresAt.getTime() > at ? facts.replyTokenExpiresAt : null;
  const rule = WINDOW_RULES[facts.channel];
  const freeFormUntil = rule && facts.lastInboundAt ? new Date(facts.lastInboundAt.getTime() + rule.windowMs) : null;
  if (facts.unsubscribedAt) {
    return { canSendFreeForm: false, freeFormUntil, remaining: 0, templatesAllowed: false, replyTokenUntil, reason: 'reachability.unsubscribed' };
  }
  if (!rule) return { canSendFreeForm: true, freeFormUntil: null, remaining: null, templatesAllowed: true, replyTokenUntil, reason: null };

  const open = freeFormUntil !== null && at < freeFormUntil.getTime();
  const remaining = !open ? 0 : rule.quota === null ? null : Math.max(0, rule.quota - facts.sentSinceInbound);
  const reason: ReachabilityReason | null = !open ? 'reachability.window_closed' : remaining === 0 ? 'reachability.quota_exhausted' : null;
  const canSendFreeForm = reason === null;
  return { canSendFreeForm, freeFormUntil, remaining, templatesAllowed: rule.templatesOutsideWindow || canSendFreeForm, replyTokenUntil, reason };
}

/** Whether a message of this kind can be sent now, given the identity's assessment. */
export function canSendNow(reachability: Reachability, kind: MessageKind): SendVerdict {
  if (kind === 'template' ? reachability.templatesAllowed : reachability.canSendFreeForm) return { ok: true };
  return { ok: false, reason: reachability.reason ?? 'reachability.window_closed' };
}

/** The channel has a quota that concurrent sends could overrun (they must be serialised per identity). */
export function hasSendQuota(channel: Channel): boolean {
  return WINDOW_RULES[channel]?.quota != null;
}

const CHANNEL_NAMES: { readonly [C in Channel]: string } = {
  whatsapp: 'WhatsApp',
  wechat: 'WeChat',
  line: 'LINE',
  sms: 'SMS',
  email: 'Email',
  telegram: 'Telegram',
  webchat: 'Web chat',
  api: 'API',
};

/**
 * The 422 a refused send answers: what rule refused it, until when, and what to do instead
 * (send a template where the channel has them, or pick another identity).
 */
export function reachabilityRefusal(channel: Channel, reachability: Reachability, reason: ReachabilityReason): DomainError {
  const name = CHANNEL_NAMES[channel];
  const rule = WINDOW_RULES[channel];
  const other = 'pick another identity of the contact (via.identityId, or a fallback list)';
  const until = reachability.freeFormUntil?.toISOString();
  let detail: string;
  switch (reason) {
    case 'reachability.unsubscribed':
      detail = `The customer unsubscribed from this ${name} identity; nothing can be sent to it until they subscribe again: ${other}.`;
      break;
    case 'reachability.quota_exhausted':
      detail =
        `${name} allows ${rule?.quota ?? 0} messages within ${hours(rule)} hours of the customer's last message, and all are used ` +
        `(the window ends at ${until}); the count starts again when the customer writes: ${other}.`;
      break;
    case 'reachability.no_identity':
      detail = `The contact has no identity to send to: add one (POST /v1/contacts/{id}/identities).`;
      break;
    case 'reachability.window_closed': {
      const when = until ? `closed at ${until}` : 'never opened (the customer has not written on this identity)';
      const instead = rule?.templatesOutsideWindow ? `send an approved template (type template), or ${other}` : other;
      detail = `${name} allows free-form messages only within ${hours(rule)} hours of the customer's last message; the window ${when}: ${instead}.`;
      break;
    }
  }
  return new DomainError(reason, 'unprocessable', detail);
}

function hours(rule: WindowRule | null): number {
  return rule ? rule.windowMs / HOUR_MS : 0;
}
