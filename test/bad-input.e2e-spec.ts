import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ApiHarness, seedTenant, type SeededTenant } from '#testing';

/**
 * Bad input of every kind answers the right status as problem+json with a code, and writes nothing.
 * (Each area's own suite covers its field rules; this one covers what every route shares.)
 */
describe('bad input', () => {
  let api: ApiHarness;
  let tenant: SeededTenant;
  let owner: pg.Client;

  beforeAll(async () => {
    api = await ApiHarness.start({ BODY_LIMIT_BYTES: '4096' });
    tenant = await seedTenant(api.config);
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  const contactsOfTenant = async (): Promise<number> =>
    Number((await owner.query('SELECT count(*) FROM contacts WHERE workspace_id = $1', [tenant.workspaceId])).rows[0].count);

  function expectProblem(response: { status: number; headers: Headers; body: unknown }, status: number, code: string): void {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  }

  it.each([
    ['malformed JSON', '{"name": "x",', 'request.malformed_json'],
    ['a JSON array instead of an object', '[1, 2]', 'request.invalid'],
    ['an empty body', '', 'request.malformed_json'],
  ])('rejects %s with 400 and writes nothing', async (_case, rawBody, code) => {
    const before = await contactsOfTenant();
    expectProblem(await api.request('POST', '/v1/contacts', { token: tenant.apiKey, rawBody }), 400, code);
    expect(await contactsOfTenant()).toBe(before);
  });

  it('rejects unknown fields and wrong types, listing each bad field', async () => {
    const before = await contactsOfTenant();
    const response = await api.request('POST', '/v1/contacts', {
      token: tenant.apiKey,
      body: { name: 42, email: 'not-an-email', isAdmin: true },
    });
    expectProblem(response, 400, 'request.invalid');
    const fields = (response.body.errors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'email', 'isAdmin']));
    expect(await contactsOfTenant()).toBe(before);
  });

  it('rejects an oversized body with 413', async () => {
    const before = await contactsOfTenant();
    const response = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, body: { name: 'x'.repeat(10_000) } });
    expectProblem(response, 413, 'request.too_large');
    expect(await contactsOfTenant()).toBe(before);
  });

  it('rejects a body that is not JSON with 415', async () => {
    const response = await api.request('POST', '/v1/contacts', {
      token: tenant.apiKey,
      rawBody: 'name=x',
      headers: { 'content-type': 'text/csv' },
    });
    expectProblem(response, 415, 'request.unsupported_media_type');
  });

  it.each(['not-base64!', 'WyJ4Il0', Buffer.from('["2026-01-01T00:00:00.000Z","nope"]').toString('base64url')])(
    'rejects the bad cursor %j with 400',
    async (cursor) => {
      expectProblem(
        await api.request('GET', `/v1/conversations?cursor=${encodeURIComponent(cursor)}`, { token: tenant.apiKey }),
        400,
        'pagination.invalid_cursor',
      );
    },
  );

  it.each([['0'], ['101'], ['ten']])('rejects limit=%s with 400', async (limit) => {
    expectProblem(await api.request('GET', `/v1/contacts?limit=${limit}`, { token: tenant.apiKey }), 400, 'request.invalid');
  });

  it.each([
    ['no Authorization header', undefined, 'auth.missing_token'],
    ['a forged JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', 'auth.invalid_token'],
    ['alg none', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'auth.invalid_token'],
    ['a made-up API key', `fry_${'A'.repeat(65)}`, 'auth.invalid_api_key'],
  ])('answers 401 to %s', async (_case, token, code) => {
    expectProblem(await api.request('GET', '/v1/contacts', token ? { token } : {}), 401, code);
  });

  it('replays an Idempotency-Key with the same body, and refuses it with another body (422, nothing written)', async () => {
    const headers = { 'idempotency-key': 'create-contact-1' };
    const first = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, headers, body: { name: 'Ana' } });
    expect(first.status).toBe(201);
    const again = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, headers, body: { name: 'Ana' } });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const before = await contactsOfTenant();
    const other = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, headers, body: { name: 'Bob' } });
    expectProblem(other, 422, 'idempotency.key_reused');
    expect(await contactsOfTenant()).toBe(before);
  });

  it('frees an Idempotency-Key whose request failed validation, so the fixed request goes through', async () => {
    const headers = { 'idempotency-key': 'create-contact-2' };
    expectProblem(await api.request('POST', '/v1/contacts', { token: tenant.apiKey, headers, body: { email: 'bad' } }), 400, 'request.invalid');
    const fixed = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, headers, body: { email: 'good@example.test' } });
    expect(fixed.status).toBe(201);
  });

  it('keeps Idempotency-Keys per workspace: the same key in another workspace is a new request', async () => {
    const other = await seedTenant(api.config, 'Other');
    const headers = { 'idempotency-key': 'shared-key' };
    const mine = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, headers, body: { name: 'Mine' } });
    const theirs = await api.request('POST', '/v1/contacts', { token: other.apiKey, headers, body: { name: 'Mine' } });
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('rate-limits per API key with RateLimit headers and 429 + Retry-After', async () => {
    const limited = await ApiHarness.start({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const key = (await seedTenant(limited.config, 'Limited')).apiKey;
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i += 1) {
        last = await limited.request('GET', '/v1/contacts', { token: key });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(last!.headers.get('ratelimit-limit')).toBe('3');
      expect(last!.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last!.body.code).toBe('rate_limit.exceeded');
      // Another key of another workspace has its own budget.
      const otherKey = (await seedTenant(limited.config, 'Unlimited')).apiKey;
      expect((await limited.request('GET', '/v1/contacts', { token: otherKey })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
