import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { CHANNELS, type Channel, uuidv7 } from '#domain';
import { deriveAccessTokenKey, nowSeconds, signAccessToken } from '#identity';
import { channelSecretPaths, exampleChannelConfig, SECRET_MASK } from '#channels';
import { CredentialCipher } from '#messaging';
import { ApiHarness, type ApiResponse, seedTenant, type SeededTenant } from '#testing';

/**
 * Inboxes, teams, labels and canned responses over HTTP: the contract of API.md, secrets that never
 * come back out, keyset lists, conflicts, and bad input that writes nothing (rows counted through
 * the owner connection before and after).
 */
describe('settings over HTTP', () => {
  let api: ApiHarness;
  let tenant: SeededTenant;
  let other: SeededTenant;
  let owner: pg.Client;
  let publicUrl: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ RATE_LIMIT_PER_MINUTE: '100000' });
    tenant = await seedTenant(api.config, 'Settings');
    other = await seedTenant(api.config, 'Settings other');
    publicUrl = api.config.http.publicUrl;
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  const call = (method: string, path: string, body?: unknown, token = tenant.apiKey) => api.request(method, path, { token, body });

  const rows = async (table: string, workspaceId = tenant.workspaceId): Promise<number> =>
    Number((await owner.query(`SELECT count(*) FROM ${table} WHERE workspace_id = $1`, [workspaceId])).rows[0].count);

  function expectProblem(response: ApiResponse, status: number, code: string): void {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, code });
  }

  const fieldsOf = (response: ApiResponse): string[] => (response.body.errors as Array<{ field: string }>).map((e) => e.field);

  /** Every item of a list, page by page, following nextCursor to the end. */
  async function collect<T extends { id: string }>(path: string, limit: number): Promise<T[]> {
    const seen: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const separator = path.includes('?') ? '&' : '?';
      const page = await call('GET', `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(limit);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
      if (!cursor) return seen;
    }
    throw new Error('the list never ended');
  }

  const secretValuesOf = (channel: Channel, config: Record<string, unknown>): string[] =>
    channelSecretPaths(channel)
      .map((path) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config))
      .filter((value): value is string => typeof value === 'string');

  const at = (config: Record<string, unknown>, path: string): unknown =>
    path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);

  /** The config as the API should answer it: each secret that is set replaced by the mask. */
  function masked(channel: Channel, config: Record<string, unknown>): Record<string, unknown> {
    const copy = structuredClone(config);
    for (const path of channelSecretPaths(channel)) {
      const keys = path.split('.');
      const parent = (keys.length > 1 ? at(copy, keys.slice(0, -1).join('.')) : copy) as Record<string, unknown> | undefined;
      if (parent && parent[keys.at(-1)!] !== undefined) parent[keys.at(-1)!] = SECRET_MASK;
    }
    return copy;
  }

  const storedSecrets = async (id: string): Promise<Record<string, string>> => {
    const { secrets } = (await owner.query(`SELECT secrets FROM inboxes WHERE id = $1`, [id])).rows[0];
    return JSON.parse(new CredentialCipher(api.config.auth.appSecret).open(secrets, id));
  };

  describe('inboxes', () => {
    const created = new Map<Channel, { id: string; config: Record<string, unknown> }>();

    it.each(CHANNELS)('connects a %s inbox: secrets answered as "••••", never stored in the clear, webhookUrl to register', async (channel) => {
      const config = exampleChannelConfig(channel) as unknown as Record<string, unknown>;
      const response = await call('POST', '/v1/inboxes', { name: `My ${channel}`, channel, config });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      const inbox = response.body;
      expect(inbox).toMatchObject({ id: expect.any(String), name: `My ${channel}`, channel, createdAt: expect.any(String), updatedAt: expect.any(String) });
      const expectedUrl =
        channel === 'api' ? `${publicUrl}/v1/inboxes/${inbox.id}/inbound` : channel === 'webchat' ? null : `${publicUrl}/hooks/${channel}/${inbox.id}`;
      expect(inbox.webhookUrl).toBe(expectedUrl);
      const secrets = secretValuesOf(channel, config);
      const answered = JSON.stringify(inbox);
      for (const secret of secrets) expect(answered).not.toContain(secret);
      // Everything that is not a secret comes back as sent.
      expect(inbox.config).toEqual(masked(channel, config));
      const stored = (await owner.query(`SELECT config::text AS config, secrets FROM inboxes WHERE id = $1`, [inbox.id])).rows[0];
      for (const secret of secrets) {
        expect(stored.config).not.toContain(secret);
        expect(String(stored.secrets)).not.toContain(secret);
      }
      expect(stored.secrets === null).toBe(secrets.length === 0);
      expect((await call('GET', `/v1/inboxes/${inbox.id}`)).body).toEqual(inbox);
      created.set(channel, { id: inbox.id, config });
    });

    it('PATCH merges: secrets left out stay, a secret sent replaces it, "••••" sent back keeps it, null clears', async () => {
      const { id, config } = created.get('whatsapp')!;
      const renamed = await call('PATCH', `/v1/inboxes/${id}`, { name: 'WhatsApp Bangkok', config: { phoneNumberId: '999000111' } });
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
      expect(renamed.body).toMatchObject({ name: 'WhatsApp Bangkok', config: { phoneNumberId: '999000111', accessToken: SECRET_MASK } });
      expect(await storedSecrets(id)).toEqual({ accessToken: config['accessToken'], appSecret: config['appSecret'], verifyToken: config['verifyToken'] });

      const rotated = await call('PATCH', `/v1/inboxes/${id}`, { config: { accessToken: 'EAAG-rotated-token', appSecret: SECRET_MASK, apiBaseUrl: null } });
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
      expect(JSON.stringify(rotated.body)).not.toContain('EAAG-rotated-token');
      expect(rotated.body.config).not.toHaveProperty('apiBaseUrl');
      expect(await storedSecrets(id)).toEqual({ accessToken: 'EAAG-rotated-token', appSecret: config['appSecret'], verifyToken: config['verifyToken'] });

      const smtp = created.get('email')!;
      const port = await call('PATCH', `/v1/inboxes/${smtp.id}`, { config: { smtp: { port: 465, secure: true } } });
      expect(port.status, JSON.stringify(port.body)).toBe(200);
      expect(port.body.config.smtp).toEqual({ host: 'smtp.mekong-tours.example', port: 465, secure: true, user: 'support@mekong-tours.example', password: SECRET_MASK });
      expect(await storedSecrets(smtp.id)).toEqual({ 'smtp.password': 'app-password-7c1d' });
    });

    it('refuses an invalid PATCH and leaves the inbox exactly as it was', async () => {
      const { id } = created.get('sms')!;
      const before = (await owner.query(`SELECT name, config, secrets, updated_at FROM inboxes WHERE id = $1`, [id])).rows[0];
      const invalid = await call('PATCH', `/v1/inboxes/${id}`, { name: 'Renamed', config: { fromNumber: null, authToken: 42, region: 'us1' } });
      expectProblem(invalid, 400, 'inbox.invalid_config');
      expect(fieldsOf(invalid)).toEqual(expect.arrayContaining(['config.region', 'config.authToken']));
      const channelChange = await call('PATCH', `/v1/inboxes/${id}`, { channel: 'whatsapp' });
      expectProblem(channelChange, 400, 'request.invalid');
      expect(fieldsOf(channelChange)).toEqual(['channel']);
      expect((await owner.query(`SELECT name, config, secrets, updated_at FROM inboxes WHERE id = $1`, [id])).rows[0]).toEqual(before);
    });

    it('lists every inbox page by page to the end, in creation order, without duplicates', async () => {
      for (let i = 0; i < 7; i += 1) expect((await call('POST', '/v1/inboxes', { name: `API ${i}`, channel: 'api', config: {} })).status).toBe(201);
      const live = Number((await owner.query(`SELECT count(*) FROM inboxes WHERE workspace_id = $1 AND deleted_at IS NULL`, [tenant.workspaceId])).rows[0].count);
      const listed = await collect<{ id: string }>('/v1/inboxes', 3);
      expect(listed).toHaveLength(live);
      expect(new Set(listed.map((inbox) => inbox.id)).size).toBe(live);
      expect(listed.map((inbox) => inbox.id)).toEqual([...listed.map((inbox) => inbox.id)].sort());
      expect(JSON.stringify(listed)).not.toContain('EAAG-rotated-token');
    });

    it('deletes softly: 204, then 404 and unlisted, while the row stays for the history', async () => {
      const { id } = created.get('telegram')!;
      const deleted = await call('DELETE', `/v1/inboxes/${id}`);
      expect(deleted.status).toBe(204);
      expectProblem(await call('GET', `/v1/inboxes/${id}`), 404, 'inbox.not_found');
      expectProblem(await call('PATCH', `/v1/inboxes/${id}`, { name: 'Back' }), 404, 'inbox.not_found');
      expectProblem(await call('DELETE', `/v1/inboxes/${id}`), 404, 'inbox.not_found');
      expect((await collect<{ id: string }>('/v1/inboxes', 100)).map((inbox) => inbox.id)).not.toContain(id);
      const row = (await owner.query(`SELECT deleted_at FROM inboxes WHERE id = $1`, [id])).rows[0];
      expect(row.deleted_at).toBeInstanceOf(Date);
    });

    it('answers 404 to unknown ids, malformed ids and ids of another workspace', async () => {
      const { id } = created.get('line')!;
      expectProblem(await call('GET', `/v1/inboxes/${uuidv7()}`), 404, 'inbox.not_found');
      expectProblem(await call('GET', '/v1/inboxes/not-a-uuid'), 404, 'inbox.not_found');
      expectProblem(await call('DELETE', '/v1/inboxes/not-a-uuid'), 404, 'inbox.not_found');
      expectProblem(await call('GET', `/v1/inboxes/${id}`, undefined, other.apiKey), 404, 'inbox.not_found');
      expectProblem(await call('PATCH', `/v1/inboxes/${id}`, { name: 'Mine now' }, other.apiKey), 404, 'inbox.not_found');
      expectProblem(await call('DELETE', `/v1/inboxes/${id}`, undefined, other.apiKey), 404, 'inbox.not_found');
      expect((await call('GET', `/v1/inboxes/${id}`)).body.name).toBe('My line');
    });

    it.each([
      ['an unknown field', { name: 'X', channel: 'api', config: {}, isAdmin: true }, 'request.invalid', ['isAdmin']],
      ['wrong types', { name: 42, channel: 'fax', config: 'none' }, 'request.invalid', ['name', 'channel', 'config']],
      ['a missing config', { name: 'X', channel: 'api' }, 'request.invalid', ['config']],
      [
        'an invalid whatsapp config',
        { name: 'X', channel: 'whatsapp', config: { phoneNumberId: '1', appSecret: 's', verifyToken: 'v', accessToken: 7, webhook: 'x' } },
        'inbox.invalid_config',
        ['config.webhook', 'config.accessToken'],
      ],
      ['an sms config without a sender', { name: 'X', channel: 'sms', config: { accountSid: 'AC1', authToken: 't' } }, 'inbox.invalid_config', ['config.fromNumber']],
      ['a private apiBaseUrl', { name: 'X', channel: 'line', config: { ...exampleChannelConfig('line'), apiBaseUrl: 'http://169.254.169.254' } }, 'inbox.invalid_config', ['config.apiBaseUrl']],
    ])('refuses %s with 400 and writes nothing', async (_case, body, code, fields) => {
      const before = await rows('inboxes');
      const response = await call('POST', '/v1/inboxes', body);
      expectProblem(response, 400, code);
      expect(fieldsOf(response)).toEqual(expect.arrayContaining(fields as string[]));
      expect(await rows('inboxes')).toBe(before);
    });
  });

  describe('teams', () => {
    let teamId: string;

    it('creates a team with members, reads and lists it', async () => {
      const response = await call('POST', '/v1/teams', { name: 'China desk', description: 'WeChat customers', memberIds: [tenant.memberId] });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body).toMatchObject({ name: 'China desk', description: 'WeChat customers', memberIds: [tenant.memberId] });
      teamId = response.body.id;
      expect((await call('GET', `/v1/teams/${teamId}`)).body).toEqual(response.body);
      const members = await owner.query(`SELECT member_id FROM team_members WHERE team_id = $1`, [teamId]);
      expect(members.rows).toEqual([{ member_id: tenant.memberId }]);
    });

    it('refuses a second team of the same name in any case (409) and writes nothing', async () => {
      const before = await rows('teams');
      expectProblem(await call('POST', '/v1/teams', { name: 'CHINA DESK' }), 409, 'team.name_taken');
      expect(await rows('teams')).toBe(before);
      const other = await call('POST', '/v1/teams', { name: 'Thai desk' });
      expect(other.status).toBe(201);
      expectProblem(await call('PATCH', `/v1/teams/${other.body.id}`, { name: 'china desk' }), 409, 'team.name_taken');
      expect((await call('GET', `/v1/teams/${other.body.id}`)).body.name).toBe('Thai desk');
    });

    it('refuses members of another workspace or unknown ones (400 team.invalid_member) and writes nothing', async () => {
      const before = [await rows('teams'), await rows('team_members')];
      const response = await call('POST', '/v1/teams', { name: 'Ghosts', memberIds: [tenant.memberId, other.memberId, uuidv7()] });
      expectProblem(response, 400, 'team.invalid_member');
      expect(fieldsOf(response)).toEqual(['memberIds.1', 'memberIds.2']);
      expectProblem(await call('PATCH', `/v1/teams/${teamId}`, { memberIds: [other.memberId] }), 400, 'team.invalid_member');
      expect([await rows('teams'), await rows('team_members')]).toEqual(before);
    });

    it('updates the name, clears the description and replaces the members', async () => {
      const response = await call('PATCH', `/v1/teams/${teamId}`, { name: 'Greater China desk', description: null, memberIds: [] });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body).toMatchObject({ name: 'Greater China desk', description: null, memberIds: [] });
      expect(await rows('team_members')).toBe(0);
    });

    it('pages through teams by name without duplicates', async () => {
      for (const name of ['Ops', 'billing', 'Escalations', 'after-hours']) expect((await call('POST', '/v1/teams', { name })).status).toBe(201);
      const listed = await collect<{ id: string; name: string }>('/v1/teams', 2);
      expect(listed).toHaveLength(await rows('teams'));
      expect(new Set(listed.map((team) => team.id)).size).toBe(listed.length);
    });

    it('refuses bad input with 400 and writes nothing', async () => {
      const before = await rows('teams');
      const response = await call('POST', '/v1/teams', { name: '  ', memberIds: ['not-a-uuid'], color: 'red' });
      expectProblem(response, 400, 'request.invalid');
      expect(fieldsOf(response)).toEqual(expect.arrayContaining(['name', 'memberIds', 'color']));
      expectProblem(await call('PATCH', `/v1/teams/${teamId}`, { name: null }), 400, 'request.invalid');
      expect(await rows('teams')).toBe(before);
    });

    it('deletes: 204 then 404; other workspaces and malformed ids get 404', async () => {
      expectProblem(await call('DELETE', `/v1/teams/${teamId}`, undefined, other.apiKey), 404, 'team.not_found');
      expectProblem(await call('GET', '/v1/teams/123'), 404, 'team.not_found');
      expect((await call('DELETE', `/v1/teams/${teamId}`)).status).toBe(204);
      expectProblem(await call('GET', `/v1/teams/${teamId}`), 404, 'team.not_found');
    });
  });

  describe('labels', () => {
    /** A conversation of the tenant carrying `labels`, written through the owner connection. */
    async function conversationWith(labels: string[]): Promise<string> {
      const contactId = uuidv7();
      const id = uuidv7();
      await owner.query(`INSERT INTO contacts (id, workspace_id, name) VALUES ($1, $2, 'Customer')`, [contactId, tenant.workspaceId]);
      await owner.query(`INSERT INTO conversations (id, workspace_id, contact_id, labels) VALUES ($1, $2, $3, $4)`, [id, tenant.workspaceId, contactId, labels]);
      return id;
    }
    const labelsOf = async (id: string): Promise<string[]> => (await owner.query(`SELECT labels FROM conversations WHERE id = $1`, [id])).rows[0].labels;

    it('creates labels (color normalised, default color), refuses duplicates with 409', async () => {
      const vip = await call('POST', '/v1/labels', { name: 'vip', color: '#E11D48', description: 'Repeat customers' });
      expect(vip.status, JSON.stringify(vip.body)).toBe(201);
      expect(vip.body).toMatchObject({ name: 'vip', color: '#e11d48', description: 'Repeat customers' });
      const plain = await call('POST', '/v1/labels', { name: '退款' });
      expect(plain.status, JSON.stringify(plain.body)).toBe(201);
      expect(plain.body).toMatchObject({ name: '退款', color: '#6b7280', description: null });
      const before = await rows('labels');
      expectProblem(await call('POST', '/v1/labels', { name: 'vip' }), 409, 'label.name_taken');
      expect(await rows('labels')).toBe(before);
    });

    it('refuses names that are not lowercase slugs and colors that are not #rrggbb, writing nothing', async () => {
      const before = await rows('labels');
      for (const body of [{ name: 'VIP' }, { name: 'has space' }, { name: '-lead' }, { name: 'ok', color: 'red' }, { name: 'ok', colour: '#fff000' }]) {
        expectProblem(await call('POST', '/v1/labels', body), 400, 'request.invalid');
      }
      expect(await rows('labels')).toBe(before);
    });

    it('renames a label on every conversation that carries it, in the same transaction', async () => {
      const label = (await call('POST', '/v1/labels', { name: 'lead' })).body;
      const tagged = await conversationWith(['lead', 'vip']);
      const untagged = await conversationWith(['vip']);
      const renamed = await call('PATCH', `/v1/labels/${label.id}`, { name: 'prospect', color: '#00AA00' });
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
      expect(renamed.body).toMatchObject({ name: 'prospect', color: '#00aa00' });
      expect(await labelsOf(tagged)).toEqual(['prospect', 'vip']);
      expect(await labelsOf(untagged)).toEqual(['vip']);
      // A rename onto a taken name changes nothing, conversations included.
      expectProblem(await call('PATCH', `/v1/labels/${label.id}`, { name: 'vip' }), 409, 'label.name_taken');
      expect(await labelsOf(tagged)).toEqual(['prospect', 'vip']);
    });

    it('deleting a label takes it off conversations; then 404', async () => {
      const label = (await call('POST', '/v1/labels', { name: 'spam' })).body;
      const tagged = await conversationWith(['spam', 'vip']);
      expect((await call('DELETE', `/v1/labels/${label.id}`)).status).toBe(204);
      expect(await labelsOf(tagged)).toEqual(['vip']);
      expectProblem(await call('GET', `/v1/labels/${label.id}`), 404, 'label.not_found');
      expectProblem(await call('DELETE', `/v1/labels/${label.id}`), 404, 'label.not_found');
    });

    it('lists by name, page by page, and hides other workspaces', async () => {
      const listed = await collect<{ id: string; name: string }>('/v1/labels', 2);
      expect(listed.map((label) => label.name)).toEqual(['prospect', 'vip', '退款']);
      expect(await collect('/v1/labels', 5).then((l) => l.length)).toBe(await rows('labels'));
      const mine = listed[0]!;
      expectProblem(await call('GET', `/v1/labels/${mine.id}`, undefined, other.apiKey), 404, 'label.not_found');
      expectProblem(await call('PATCH', `/v1/labels/${mine.id}`, { color: '#000000' }, other.apiKey), 404, 'label.not_found');
    });
  });

  describe('canned responses', () => {
    it('creates, searches by short-code prefix, updates and deletes; short codes are unique (409)', async () => {
      const created: string[] = [];
      for (const [shortCode, content] of [
        ['price-guilin', 'Guilin: 2,400 CNY'],
        ['price-hanoi', 'Hanoi: 450 USD'],
        ['greeting', 'Hello!'],
        ['Price-FAQ', 'See our FAQ'],
      ]) {
        const response = await call('POST', '/v1/canned-responses', { shortCode, content });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        expect(response.body).toMatchObject({ shortCode, content });
        created.push(response.body.id);
      }
      const before = await rows('canned_responses');
      expectProblem(await call('POST', '/v1/canned-responses', { shortCode: 'greeting', content: 'Hi' }), 409, 'canned_response.short_code_taken');
      expect(await rows('canned_responses')).toBe(before);

      const prices = await collect<{ id: string; shortCode: string }>('/v1/canned-responses?q=price', 1);
      expect(prices.map((c) => c.shortCode).sort()).toEqual(['Price-FAQ', 'price-guilin', 'price-hanoi'].sort());
      expect(await collect('/v1/canned-responses?q=nothing', 10)).toEqual([]);
      expect((await collect('/v1/canned-responses', 3)).length).toBe(4);

      const updated = await call('PATCH', `/v1/canned-responses/${created[0]}`, { content: 'Guilin: 2,600 CNY' });
      expect(updated.body).toMatchObject({ shortCode: 'price-guilin', content: 'Guilin: 2,600 CNY' });
      expectProblem(await call('PATCH', `/v1/canned-responses/${created[0]}`, { shortCode: 'greeting' }), 409, 'canned_response.short_code_taken');
      expectProblem(await call('GET', `/v1/canned-responses/${created[0]}`, undefined, other.apiKey), 404, 'canned_response.not_found');
      expect((await call('DELETE', `/v1/canned-responses/${created[0]}`)).status).toBe(204);
      expectProblem(await call('GET', `/v1/canned-responses/${created[0]}`), 404, 'canned_response.not_found');
      expectProblem(await call('GET', '/v1/canned-responses/zzz'), 404, 'canned_response.not_found');
    });

    it('refuses bad input with 400 and writes nothing', async () => {
      const before = await rows('canned_responses');
      for (const body of [{ shortCode: 'has space', content: 'x' }, { shortCode: 'ok' }, { shortCode: 'ok', content: 5 }, { shortCode: 'ok', content: 'x', title: 'x' }]) {
        expectProblem(await call('POST', '/v1/canned-responses', body), 400, 'request.invalid');
      }
      expectProblem(await call('GET', '/v1/canned-responses?q=x&sort=asc'), 400, 'request.invalid');
      expect(await rows('canned_responses')).toBe(before);
    });
  });

  describe('permissions', () => {
    let agentToken: string;

    beforeAll(async () => {
      const userId = uuidv7();
      const memberId = uuidv7();
      await owner.query(`INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'Agent', 'x')`, [userId, `agent-${userId}@example.test`]);
      await owner.query(`INSERT INTO members (id, workspace_id, user_id, role) VALUES ($1, $2, $3, 'agent')`, [memberId, tenant.workspaceId, userId]);
      const key = deriveAccessTokenKey(api.config.auth.appSecret);
      agentToken = signAccessToken({ sub: userId, wid: tenant.workspaceId, mid: memberId, role: 'agent' }, key, 600, nowSeconds());
    });

    it('lets agents read settings but not change them (403), writing nothing', async () => {
      for (const path of ['/v1/inboxes', '/v1/teams', '/v1/labels', '/v1/canned-responses']) {
        expect((await call('GET', path, undefined, agentToken)).status, path).toBe(200);
      }
      const counts = async () => {
        const all: number[] = [];
        for (const table of ['inboxes', 'teams', 'labels', 'canned_responses']) all.push(await rows(table));
        return all;
      };
      const before = await counts();
      const inboxId = (await call('GET', '/v1/inboxes?limit=1', undefined, agentToken)).body.data[0].id;
      for (const [method, path, body] of [
        ['POST', '/v1/inboxes', { name: 'X', channel: 'api', config: {} }],
        ['PATCH', `/v1/inboxes/${inboxId}`, { name: 'X' }],
        ['DELETE', `/v1/inboxes/${inboxId}`, undefined],
        ['POST', '/v1/teams', { name: 'Agents only' }],
        ['POST', '/v1/labels', { name: 'agent-label' }],
        ['POST', '/v1/canned-responses', { shortCode: 'agent', content: 'x' }],
      ] as const) {
        expectProblem(await call(method, path, body, agentToken), 403, 'auth.forbidden');
      }
      expect(await counts()).toEqual(before);
    });
  });

  it('documents every settings route in the OpenAPI document, with the per-channel config schemas', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    for (const [path, methods, tag] of [
      ['/v1/inboxes', ['get', 'post'], 'inboxes'],
      ['/v1/inboxes/{id}', ['get', 'patch', 'delete'], 'inboxes'],
      ['/v1/teams', ['get', 'post'], 'teams'],
      ['/v1/teams/{id}', ['get', 'patch', 'delete'], 'teams'],
      ['/v1/labels', ['get', 'post'], 'labels'],
      ['/v1/labels/{id}', ['get', 'patch', 'delete'], 'labels'],
      ['/v1/canned-responses', ['get', 'post'], 'canned-responses'],
      ['/v1/canned-responses/{id}', ['get', 'patch', 'delete'], 'canned-responses'],
    ] as const) {
      for (const method of methods) {
        const operation = doc.paths[path]?.[method];
        expect(operation, `${method} ${path}`).toBeDefined();
        expect(operation.tags).toEqual([tag]);
        expect(operation.summary).toEqual(expect.any(String));
        expect(operation.security).toEqual([{ bearer: [] }]);
      }
    }
    const config = doc.components.schemas.CreateInboxDto.properties.config;
    expect(config.oneOf.map((schema: { title: string }) => schema.title)).toEqual(CHANNELS.map((channel) => `${channel} config`));
    expect(doc.paths['/v1/teams'].post.responses['409'].content['application/problem+json']).toBeDefined();
    expect(doc.paths['/v1/inboxes'].get.parameters.map((p: { name: string }) => p.name)).not.toContain('id');
  });
});
