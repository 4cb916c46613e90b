import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OutboundGuard, RefusedAddressError, type Resolve } from './outbound-guard.js';

/** A receiver on 127.0.0.1 standing in for a private service an attacker would aim Ferry at. */
let server: Server;
let port: number;
let received: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(req);
    res.end('internal secret');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
});

/** A resolver answering from a script, one answer per call (the last repeats): DNS rebinding on demand. */
function scripted(...answers: string[]): Resolve & { calls: number } {
  const resolve: Resolve & { calls: number } = Object.assign(
    async () => {
      const address = answers[Math.min(resolve.calls, answers.length - 1)]!;
      resolve.calls += 1;
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    },
    { calls: 0 },
  );
  return resolve;
}

async function get(guard: OutboundGuard, url: string): Promise<{ status: number; body: string }> {
  const answer = await request(url, { dispatcher: guard.dispatcher });
  return { status: answer.statusCode, body: await answer.body.text() };
}

describe('OutboundGuard', () => {
  it('refuses a name that resolves to a private address, at saving and at connecting', async () => {
    const guard = new OutboundGuard({ allowPrivateUrls: false, resolve: scripted('10.0.0.5') });
    expect(await guard.check('https://hooks.example.com/in')).toBe('must point at a public address (the name resolves to a private address)');
    await expect(guard.addressesFor('hooks.example.com')).rejects.toBeInstanceOf(RefusedAddressError);
    await guard.close();
  });

  it('refuses `localhost` through the system resolver', async () => {
    const guard = new OutboundGuard({ allowPrivateUrls: false });
    expect(await guard.check('https://localhost/in')).toBe('must point at a public address');
    expect(await guard.check('http://hooks.example.com/in')).toBe('must be an https URL');
    await guard.close();
  });

  it('refuses a name with any private answer among public ones', async () => {
    const resolve: Resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:127.0.0.1', family: 6 },
    ];
    const guard = new OutboundGuard({ allowPrivateUrls: false, resolve });
    await expect(guard.addressesFor('hooks.example.com')).rejects.toThrow(/::ffff:127\.0\.0\.1, a loopback \(IPv4 embedded in IPv6\) address/);
    await guard.close();
  });

  it('connects to the address its own lookup checked: a rebinding second answer cannot swap in a private one', async () => {
    // Public when the URL is saved, loopback when Ferry connects: the connection is refused, the service never hears of it.
    const resolve = scripted('93.184.216.34', '127.0.0.1');
    const guard = new OutboundGuard({ allowPrivateUrls: false, resolve });
    expect(await guard.check(`https://rebind.example.com:${port}/`)).toBeNull();
    await expect(get(guard, `http://rebind.example.com:${port}/`)).rejects.toThrow();
    expect(resolve.calls).toBe(2);
    expect(received).toHaveLength(0);
    await guard.close();
  });

  it('routes the socket to the checked address while Host stays the name', async () => {
    // With private URLs allowed the scripted answer (127.0.0.1) is used as is: the request reaches the
    // receiver although the name means nothing to the system resolver, so the socket went where the guard said.
    const resolve = scripted('127.0.0.1', '10.9.9.9');
    const guard = new OutboundGuard({ allowPrivateUrls: true, resolve });
    const answer = await get(guard, `http://receiver.example.com:${port}/hello`);
    expect(answer).toEqual({ status: 200, body: 'internal secret' });
    expect(received[0]?.headers.host).toBe(`receiver.example.com:${port}`);
    expect(resolve.calls).toBe(1);
    await guard.close();
  });

  it('refuses an address literal at connecting', async () => {
    const guard = new OutboundGuard({ allowPrivateUrls: false });
    await expect(get(guard, `http://127.0.0.1:${port}/`)).rejects.toThrow();
    await expect(get(guard, `http://[::ffff:127.0.0.1]:${port}/`)).rejects.toThrow();
    expect(received).toHaveLength(0);
    await guard.close();
  });
});
