import { BlockList, isIP } from 'node:net';

/*
 * Where Ferry may connect on a workspace's say-so (provider API base URLs, integrator webhooks,
 * SMTP hosts). A first line against requests to internal services (SSRF): literal private
 * addresses and local names are refused when the setting is saved. Names that resolve to private
 * addresses are the sender's to refuse at connection time.
 */

export function urlProblem(value: string, options: { allowPrivateUrls: boolean }): string | null {
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

export function hostProblem(value: string, options: { allowPrivateUrls: boolean }): string | null {
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

const PRIVATE_ADDRESSES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  PRIVATE_ADDRESSES.addSubnet(network, prefix, 'ipv4');
}
// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are checked against the IPv4 rules by BlockList itself.
for (const [network, prefix] of [['::', 127], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  PRIVATE_ADDRESSES.addSubnet(network, prefix, 'ipv6');
}
const LOCAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/i;

/** A host name or address literal that is neither private, loopback, link-local nor a local name. */
export function isPublicHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const family = isIP(host);
  if (family === 4) return !PRIVATE_ADDRESSES.check(host, 'ipv4');
  if (family === 6) return !PRIVATE_ADDRESSES.check(host, 'ipv6');
  return host.includes('.') && !LOCAL_NAMES.test(host);
}
