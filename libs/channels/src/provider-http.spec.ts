import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboundGuard } from '#net';
import { type FakeProvider, startFakeProvider, TEST_GUARD } from './fake-provider-server.js';
import { callProvider, httpFailure, retryAfterMs, safeEqual } from './provider-http.js';

describe('callProvider', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await startFakeProvider();
  });
  afterEach(async () => {
    await provider.close();
  });

  it('posts JSON and answers status, parsed body and the request id header', async () => {
    provider.answer(() => ({ status: 201, headers: { 'x-request-id': 'req-1' }, body: { id: 7 } }));
    const result = await callProvider(`${provider.url}/things`, { json: { a: 1 }, headers: { authorization: 'Bearer t' }, timeoutMs: 2000, guard: TEST_GUARD, requestIdHeaders: ['x-other', 'x-request-id'] });
    expect(result.ok && result.response).toMatchObject({ status: 201, json: { id: 7 }, requestId: 'req-1' });
    expect(provider.calls[0]).toMatchObject({ method: 'POST', path: '/things', json: { a: 1 } });
    expect(provider.calls[0]!.headers).toMatchObject({ authorization: 'Bearer t', 'content-type': 'application/json' });
  });

  it('keeps a non-JSON body as text', async () => {
    provider.answer(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    const result = await callProvider(provider.url, { body: 'x=1', timeoutMs: 2000, guard: TEST_GUARD });
    expect(result.ok && result.response).toMatchObject({ status: 502, text: '<html>bad gateway</html>', json: undefined });
  });

  it('turns a provider that never answers into a transient provider.timeout', async () => {
    provider.answer(() => ({ status: 200, hang: true }));
    const result = await callProvider(provider.url, { json: {}, timeoutMs: 100, guard: TEST_GUARD });
    expect(result).toMatchObject({ ok: false, failure: { ok: false, permanent: false, code: 'provider.timeout' } });
  });

  it('turns a refused connection into a transient provider.network_error', async () => {
    const url = provider.url;
    await provider.close();
    const result = await callProvider(url, { json: {}, timeoutMs: 2000, guard: TEST_GUARD });
    expect(result).toMatchObject({ ok: false, failure: { ok: false, permanent: false, code: 'provider.network_error' } });
    provider = await startFakeProvider();
  });

  it('does not follow redirects', async () => {
    provider.answer((call) => (call.path === '/moved' ? { status: 302, headers: { location: '/elsewhere' } } : { status: 200, body: { reached: true } }));
    const result = await callProvider(`${provider.url}/moved`, { json: {}, timeoutMs: 2000, guard: TEST_GUARD });
    expect(result.ok && result.response.status).toBe(302);
    expect(provider.calls.map((c) => c.path)).toEqual(['/moved']);
    expect(result.ok && httpFailure(result.response)).toMatchObject({ permanent: true, code: 'provider.http_302' });
  });
});

describe('httpFailure', () => {
  const response = (status: number, headers: Record<string, string> = {}, text = '') => ({ status, headers: new Headers(headers), text, json: undefined, latencyMs: 1 });

  it('is transient for 429 and 5xx, honouring Retry-After', () => {
    expect(httpFailure(response(429, { 'retry-after': '7' }))).toEqual({ ok: false, permanent: false, code: 'provider.http_429', reason: 'HTTP 429', responseCode: '429', retryAfterMs: 7000 });
    expect(httpFailure(response(503, {}, 'down'))).toEqual({ ok: false, permanent: false, code: 'provider.http_503', reason: 'down', responseCode: '503' });
  });

  it('is permanent for other 4xx, and ignores Retry-After there', () => {
    expect(httpFailure({ ...response(404, { 'retry-after': '7' }, 'no such chat'), requestId: 'r9' }, undefined, 'x.gone')).toEqual({
      ok: false,
      permanent: true,
      code: 'x.gone',
      reason: 'no such chat',
      responseCode: '404',
      providerRequestId: 'r9',
    });
  });
});

describe('retryAfterMs', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  it('reads seconds and HTTP dates, and ignores garbage', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '120' }), now)).toBe(120_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('safeEqual', () => {
  it('compares whole values, whatever their lengths', () => {
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
    expect(safeEqual('secret', 'secret-longer')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
  });
});

describe('callProvider errors', () => {
  it('never repeats a URL, which may carry a token, in the reason', async () => {
    const result = await callProvider('http://127.0.0.1:notaport/bot123:SECRET/sendMessage', { json: {}, timeoutMs: 1000, guard: TEST_GUARD });
    // A URL that does not parse never will: refused for good, before any connection.
    expect(result).toMatchObject({ ok: false, failure: { permanent: true, code: 'provider.url_refused' } });
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });
});

describe('callProvider through the SSRF guard (ALLOW_PRIVATE_URLS off)', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await startFakeProvider();
  });
  afterEach(async () => {
    await provider.close();
  });

  it('refuses a private address for good, and the service behind it hears nothing', async () => {
    const strict = new OutboundGuard({ allowPrivateUrls: false });
    const result = await callProvider(`${provider.url}/things`, { json: {}, timeoutMs: 2000, guard: strict });
    expect(result).toMatchObject({ ok: false, failure: { permanent: true, code: 'provider.url_refused' } });
    expect(provider.calls).toHaveLength(0);
    await strict.close();
  });

  it('refuses a public name whose address turns private at connection time (an inbox apiBaseUrl, an api webhookUrl)', async () => {
    const port = new URL(provider.url).port;
    const strict = new OutboundGuard({ allowPrivateUrls: false, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const result = await callProvider(`https://bridge.example.com:${port}/send`, { json: {}, timeoutMs: 2000, guard: strict });
    expect(result).toMatchObject({ ok: false, failure: { permanent: true, code: 'provider.url_refused' } });
    expect(result.ok === false && result.failure.reason).toContain('loopback');
    expect(provider.calls).toHaveLength(0);
    await strict.close();
  });
});
