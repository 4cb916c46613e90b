import { DomainError } from '#domain';

/** What the choice needs to know of an identity. */
export interface CandidateIdentity {
  id: string;
  lastInboundAt: Date | null;
  createdAt: Date;
}

export interface IdentityChoice<T extends CandidateIdentity> {
  identity: T;
  fallback: string[];
}

/**
 * Which of the contact's identities an agent's message leaves on, and over which ones it may fall back.
 * An explicit `via` wins; otherwise the channel the customer last wrote on (they are most likely to
 * read it there), otherwise the newest identity. Every id must be one of the contact's own.
 */
export function chooseIdentity<T extends CandidateIdentity>(
  identities: readonly T[],
  viaId?: string,
  fallbackIds: readonly string[] = [],
): IdentityChoice<T> {
  const byId = new Map(identities.map((identity) => [identity.id, identity]));
  let identity: T | undefined;
  if (viaId !== undefined) {
    identity = byId.get(viaId);
    if (!identity) throw invalidIdentity('via.identityId', 'is not an identity of this conversation\'s contact');
  } else {
    identity = defaultIdentity(identities);
    if (!identity) {
      throw new DomainError('reachability.no_identity', 'unprocessable', 'The contact has no identity to send to on any channel');
    }
  }
  const seen = new Set<string>([identity.id]);
  for (const id of fallbackIds) {
    if (!byId.has(id)) throw invalidIdentity('fallback', `${id} is not an identity of this conversation's contact`);
    if (seen.has(id)) throw invalidIdentity('fallback', `${id} is listed twice or is the identity sent on first`);
    seen.add(id);
  }
  return { identity, fallback: [...fallbackIds] };
}

/**
 * The route the workspace's default policy gives a send that names no `fallback`: for each channel of
 * `channels` in order, the contact's best identity on it (the one the customer last wrote on, else the
 * newest), leaving out the identity sent on first. Channels the contact has no identity on are skipped.
 */
export function policyFallback<T extends CandidateIdentity & { channel: string }>(
  identities: readonly T[],
  firstId: string,
  channels: readonly string[],
): string[] {
  const route: string[] = [];
  for (const channel of new Set(channels)) {
    const best = defaultIdentity(identities.filter((identity) => identity.channel === channel && identity.id !== firstId));
    if (best) route.push(best.id);
  }
  return route;
}

function defaultIdentity<T extends CandidateIdentity>(identities: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const candidate of identities) {
    if (!best || rank(candidate, best) > 0) best = candidate;
  }
  return best;
}

/** Positive when `a` is the better default: a later inbound message, else (neither wrote) the newer identity. */
function rank(a: CandidateIdentity, b: CandidateIdentity): number {
  const aIn = a.lastInboundAt?.getTime() ?? null;
  const bIn = b.lastInboundAt?.getTime() ?? null;
  if (aIn !== bIn) {
    if (aIn === null) return -1;
    if (bIn === null) return 1;
    return aIn - bIn;
  }
  const created = a.createdAt.getTime() - b.createdAt.getTime();
  return created !== 0 ? created : a.id.localeCompare(b.id);
}

function invalidIdentity(field: string, message: string): DomainError {
  return DomainError.invalid('message.invalid_identity', `${field} ${message}`, [{ field, message: `${field} ${message}` }]);
}
