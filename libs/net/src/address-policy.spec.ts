import { describe, expect, it } from 'vitest';
import { addressProblem, hostnameProblem, urlProblem } from './address-policy.js';

describe('addressProblem', () => {
  it.each([
    // IPv4
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['192.0.2.10', 'documentation'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo tunnel'],
    ['fec0::1', 'site-local (deprecated)'],
    // IPv4 embedded in IPv6: judged by the IPv4 rules
    ['::ffff:127.0.0.1', 'loopback (IPv4 embedded in IPv6)'],
    ['::ffff:7f00:1', 'loopback (IPv4 embedded in IPv6)'],
    ['::ffff:10.1.2.3', 'private (IPv4 embedded in IPv6)'],
    ['::ffff:169.254.169.254', 'cloud metadata (IPv4 embedded in IPv6)'],
    ['::ffff:0:192.168.0.1', 'private (IPv4 embedded in IPv6)'],
    ['64:ff9b::127.0.0.1', 'loopback (IPv4 embedded in IPv6)'],
    ['64:ff9b::a00:1', 'private (IPv4 embedded in IPv6)'],
    ['2002:7f00:1::', 'loopback (IPv4 embedded in IPv6)'],
    ['2002:a9fe:a9fe::1', 'cloud metadata (IPv4 embedded in IPv6)'],
    ['::127.0.0.1', 'IPv4-compatible (deprecated)'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'scoped (zone id)'],
    ['not-an-ip', 'not an IP address'],
  ])('refuses %s (%s)', (address, problem) => {
    expect(addressProblem(address)).toBe(problem);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '169.253.255.255', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'])(
    'accepts the public address %s',
    (address) => {
      expect(addressProblem(address)).toBeNull();
    },
  );
});

describe('hostnameProblem', () => {
  it.each([
    ['localhost', 'a local name'],
    ['api.localhost', 'a local name'],
    ['metadata.google.internal', 'cloud metadata'],
    ['metadata', 'cloud metadata'],
    ['printer.local', 'a local name'],
    ['redis', 'a local name'],
    ['169.254.169.254', 'cloud metadata'],
  ])('refuses %s', (host, problem) => {
    expect(hostnameProblem(host)).toBe(problem);
  });

  it('accepts a public name (its addresses are judged at connection time)', () => {
    expect(hostnameProblem('hooks.example.com')).toBeNull();
  });
});

describe('urlProblem', () => {
  const strict = { allowPrivateUrls: false };
  it('requires https unless private URLs are allowed', () => {
    expect(urlProblem('http://hooks.example.com/x', strict)).toBe('must be an https URL');
    expect(urlProblem('https://hooks.example.com/x', strict)).toBeNull();
    expect(urlProblem('http://127.0.0.1:4000/x', { allowPrivateUrls: true })).toBeNull();
  });

  it('refuses odd spellings of private addresses (the URL parser normalises them first)', () => {
    for (const url of ['https://0x7f.1/', 'https://2130706433/', 'https://[::ffff:7f00:1]/', 'https://[fd00:ec2::254]/', 'https://0177.0.0.1/']) {
      expect(urlProblem(url, strict)).toBe('must point at a public address');
    }
  });

  it('refuses credentials and other schemes, even when private URLs are allowed', () => {
    expect(urlProblem('https://user:pw@hooks.example.com/', { allowPrivateUrls: true })).toBe('must not carry credentials');
    expect(urlProblem('ftp://hooks.example.com/', { allowPrivateUrls: true })).toBe('must be an http(s) URL');
    expect(urlProblem('not a url', strict)).toBe('must be an http(s) URL');
  });
});
