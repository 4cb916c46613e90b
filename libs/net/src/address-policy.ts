import { isIP } from 'node:net';

/*
 * Which network addresses Ferry may connect to on a workspace's say-so (webhook endpoints, provider
 * API base URLs, SMTP hosts): the classification behind the SSRF guard. Pure, so the table is
 * unit-tested address by address. To refuse another range, add a line to V4_RULES or V6_RULES.
 */

type V6Rule = [network: string, prefix: number, problem: string | 'embedded-v4-96' | 'embedded-v4-6to4'];

const V4_RULES: ReadonlyArray<[network: string, prefix: number, problem: string]> = [
  ['169.254.169.254', 32, 'cloud metadata'],
  ['100.100.100.200', 32, 'cloud metadata'],
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

// Order matters: the first match decides. Embedded IPv4 (mapped, NAT64, 6to4) is judged by the IPv4 rules.
const V6_RULES: readonly V6Rule[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fd00:ec2::254', 128, 'cloud metadata'],
  ['::ffff:0:0', 96, 'embedded-v4-96'],
  ['::ffff:0:0:0', 96, 'embedded-v4-96'],
  ['64:ff9b::', 96, 'embedded-v4-96'],
  ['::', 96, 'IPv4-compatible (deprecated)'],
  ['64:ff9b:1::', 48, 'local NAT64'],
  ['100::', 64, 'discard-only'],
  ['2001:db8::', 32, 'documentation'],
  ['2001::', 32, 'Teredo tunnel'],
  ['2002::', 16, 'embedded-v4-6to4'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];

/**
 * Why Ferry must not connect to `address` (an IP literal), or null when it is a public unicast
 * address. Not an IP literal at all is a problem too: the guard only ever judges resolved addresses.
 */
export function addressProblem(address: string): string | null {
  const ip = address.replace(/^\[|\]$/g, '');
  if (ip.includes('%')) return 'scoped (zone id)';
  const family = isIP(ip);
  if (family === 4) return v4Problem(v4ToInt(ip));
  if (family === 6) return v6Problem(v6ToBigInt(ip));
  return 'not an IP address';
}

function v4Problem(value: number): string | null {
  for (const [network, prefix, problem] of V4_RULES) {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    if (((value & mask) >>> 0) === ((v4ToInt(network) & mask) >>> 0)) return problem;
  }
  return null;
}

function v6Problem(value: bigint): string | null {
  for (const [network, prefix, problem] of V6_RULES) {
    const shift = BigInt(128 - prefix);
    if (value >> shift !== v6ToBigInt(network) >> shift) continue;
    if (problem === 'embedded-v4-96') return embedded(Number(value & 0xffffffffn));
    if (problem === 'embedded-v4-6to4') return embedded(Number((value >> 80n) & 0xffffffffn));
    return problem;
  }
  return null;
}

function embedded(v4: number): string | null {
  const problem = v4Problem(v4);
  return problem === null ? null : `${problem} (IPv4 embedded in IPv6)`;
}

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0) >>> 0;
}

/** Parses any valid IPv6 text (`::`, a trailing dotted quad) into its 128-bit value. */
function v6ToBigInt(ip: string): bigint {
  let text = ip.toLowerCase();
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const v4 = v4ToInt(quad[1]);
    text = `${text.slice(0, -quad[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((sum, group) => (sum << 16n) + BigInt(parseInt(group || '0', 16)), 0n);
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/i;
const METADATA_NAMES = /^(metadata|metadata\.google\.internal|instance-data(\.ec2\.internal)?)$/i;

/** Why a host (a name or an address literal, as URL.hostname gives it) is refused before any lookup, or null. */
export function hostnameProblem(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (isIP(host)) return addressProblem(host);
  if (METADATA_NAMES.test(host)) return 'cloud metadata';
  if (!host.includes('.') || LOCAL_NAMES.test(host)) return 'a local name';
  return null;
}

/** A host name or address literal that is neither private, loopback, link-local nor a local name. */
export function isPublicHost(hostname: string): boolean {
  return hostnameProblem(hostname) === null;
}

export interface UrlPolicy {
  /** ALLOW_PRIVATE_URLS: http and private addresses allowed (local development and the demo). */
  allowPrivateUrls: boolean;
}

/** The static checks of a URL a workspace gives Ferry to call (no lookup): scheme, credentials, literal address. */
export function urlProblem(value: string, options: UrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (options.allowPrivateUrls) return null;
  if (url.protocol !== 'https:') return 'must be an https URL';
  return isPublicHost(url.hostname) ? null : 'must point at a public address';
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/;

/** The static checks of a bare host (SMTP): well formed, and not a private literal or local name. */
export function hostProblem(value: string, options: UrlPolicy): string | null {
  const host = value.toLowerCase();
  const family = isIP(host);
  if (family === 0 && !HOSTNAME.test(host)) return 'must be a host name or IP address';
  // The WHATWG parser normalises the odd spellings of an address (0x7f.1, 2130706433) before the check.
  let hostname: string;
  try {
    hostname = new URL(`http://${family === 6 ? `[${host}]` : host}`).hostname;
  } catch {
    return 'must be a host name or IP address'; // e.g. 999.1.1.1
  }
  if (options.allowPrivateUrls) return null;
  return isPublicHost(hostname) ? null : 'must be a public address';
}
