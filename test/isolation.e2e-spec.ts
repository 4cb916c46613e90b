import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ApiHarness, seedTenant, type SeededTenant } from '#testing';

/**
 * The isolation sweep. Two workspaces; every route of the OpenAPI document that takes an id is
 * called with workspace B's ids and workspace A's credentials, and must answer 404 and change
 * nothing of B's. Routes are read from /openapi.json, so a new route is swept without editing this file.
 */

interface Operation {
  method: string;
  path: string;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  security?: unknown[];
}
interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  example?: unknown;
  items?: Schema;
  enum?: unknown[];
  allOf?: Schema[];
}

/** Tables whose rows belong to a workspace; B's rows in them are fingerprinted before and after. */
const TENANT_TABLES = [
  'workspaces', 'members', 'api_keys', 'invitations', 'teams', 'team_members', 'labels', 'canned_responses',
  'inboxes', 'contacts', 'contact_identities', 'conversations', 'messages', 'delivery_attempts', 'outbox', 'message_templates',
  'webhook_endpoints', 'webhook_deliveries', 'webhook_attempts',
];

describe('tenant isolation sweep', () => {
  let api: ApiHarness;
  let a: SeededTenant;
  let b: SeededTenant;
  let owner: pg.Client;
  let operations: Operation[];
  let schemas: Record<string, Schema>;
  const idsOfB = new Map<string, string>();

  beforeAll(async () => {
    api = await ApiHarness.start({ RATE_LIMIT_PER_MINUTE: '100000' });
    a = await seedTenant(api.config, 'Workspace A');
    b = await seedTenant(api.config, 'Workspace B');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    const doc = (await api.request('GET', '/openapi.json')).body;
    schemas = doc.components?.schemas ?? {};
    operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'patch', 'put', 'delete'].includes(method))
        .map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
    );
    await populateWorkspaceB();
  });

  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  /** Gives B one of everything the API can create, then records the id of each kind. */
  async function populateWorkspaceB(): Promise<void> {
    const call = (method: string, path: string, body?: unknown) => api.request(method, path, { token: b.apiKey, body });
    const inbox = await call('POST', '/v1/inboxes', { name: 'B api', channel: 'api', config: {} });
    const contact = await call('POST', '/v1/contacts', { name: 'B customer', email: 'b@example.test' });
    if (inbox.status === 201) {
      const template = await call('POST', `/v1/inboxes/${inbox.body.id}/templates`, { name: 'b_template', language: 'en', body: 'Hello {{1}}' });
      if (template.status === 201) idsOfB.set('/v1/inboxes/{inboxId}/templates', template.body.id);
      await call('POST', `/v1/inboxes/${inbox.body.id}/inbound`, {
        contact: { externalId: 'b-customer-1', name: 'B inbound' },
        message: { externalId: 'b-msg-1', body: 'hello from B' },
      });
    }
    if (contact.status === 201 && inbox.status === 201) {
      await call('POST', `/v1/contacts/${contact.body.id}/identities`, { inboxId: inbox.body.id, externalId: 'b-ident' });
    }
    await call('POST', '/v1/teams', { name: 'B team' });
    await call('POST', '/v1/labels', { name: 'b-label' });
    await call('POST', '/v1/canned-responses', { shortCode: 'bhello', content: 'Hello from B' });
    await call('POST', '/v1/invitations', { email: 'invitee@example.test', role: 'agent' });
    const hook = await call('POST', '/v1/webhook-endpoints', { url: 'https://example.test/hook', events: ['message.created'] });
    if (hook.status === 201) {
      // A test-send writes a delivery (example.test does not resolve: it fails at once, logged).
      const sent = await call('POST', `/v1/webhook-endpoints/${hook.body.id}/test`);
      if (sent.status === 200) idsOfB.set('/v1/webhook-deliveries', sent.body.id);
    }
    // Every list route (a GET without path parameters answering {data: [...]}) yields B's id of that kind.
    for (const op of operations.filter((o) => o.method === 'GET' && !o.path.includes('{'))) {
      const list = await call('GET', op.path);
      const first = list.status === 200 && Array.isArray(list.body?.data) ? list.body.data[0] : undefined;
      if (first?.id) idsOfB.set(op.path, first.id);
    }
    const conversation = idsOfB.get('/v1/conversations');
    if (conversation) {
      const messages = await call('GET', `/v1/conversations/${conversation}/messages`);
      if (messages.body?.data?.[0]?.id) idsOfB.set('/v1/messages', messages.body.data[0].id);
      if (contact.status === 201 && inbox.status === 201) {
        await call('POST', `/v1/conversations/${conversation}/messages`, { type: 'note', body: 'B note' });
      }
    }
  }

  /** B's id for a path parameter: the collection is the path up to the parameter. */
  function idFor(path: string, parameter: string): string | undefined {
    const collection = path.slice(0, path.indexOf(`{${parameter}}`) - 1);
    return idsOfB.get(collection);
  }

  async function fingerprintOfB(): Promise<string> {
    const parts: string[] = [];
    for (const table of TENANT_TABLES) {
      const column = table === 'workspaces' ? 'id' : 'workspace_id';
      // An outbox row's publication is marked after the fact (batched): it is not a change to B's data.
      const row = table === 'outbox' ? '(t.id, t.job_name, t.payload)::text' : 't::text';
      const { rows } = await owner.query(
        `SELECT count(*)::text AS n, coalesce(md5(string_agg(${row}, '|' ORDER BY ${row})), '') AS h
         FROM ${table} t WHERE ${column} = $1`,
        [b.workspaceId],
      );
      parts.push(`${table}:${rows[0].n}:${rows[0].h}`);
    }
    return parts.join('\n');
  }

  function exampleOf(schema: Schema | undefined, depth = 0): unknown {
    if (!schema || depth > 6) return undefined;
    if (schema.$ref) return exampleOf(schemas[schema.$ref.split('/').pop() ?? ''], depth + 1);
    if (schema.allOf?.length) return exampleOf(schema.allOf[0], depth + 1);
    if (schema.example !== undefined) return schema.example;
    if (schema.enum?.length) return schema.enum[0];
    if (schema.type === 'object' || schema.properties) {
      const body: Record<string, unknown> = {};
      for (const name of schema.required ?? []) body[name] = exampleOf(schema.properties?.[name], depth + 1);
      return body;
    }
    if (schema.type === 'array') return [];
    if (schema.type === 'string') return 'example';
    if (schema.type === 'integer' || schema.type === 'number') return 1;
    if (schema.type === 'boolean') return true;
    return undefined;
  }

  it('finds routes with ids to sweep, and ids of B for the core resources', () => {
    const swept = operations.filter((o) => /\{(id)\}/.test(o.path));
    expect(swept.length).toBeGreaterThanOrEqual(20);
    for (const kind of ['/v1/inboxes', '/v1/contacts', '/v1/conversations', '/v1/messages', '/v1/teams', '/v1/labels', '/v1/canned-responses', '/v1/api-keys', '/v1/members']) {
      expect(idsOfB.has(kind), `B has no ${kind} id to sweep with`).toBe(true);
    }
  });

  it("answers 404 to every id route called with the other workspace's ids, and changes nothing", async () => {
    const before = await fingerprintOfB();
    const failures: string[] = [];
    let swept = 0;
    for (const op of operations) {
      const parameters = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      // {token} routes (invitation acceptance) take a secret, not an id; provider hooks are signed by providers.
      if (parameters.length === 0 || parameters.includes('token') || op.path.startsWith('/hooks/')) continue;
      let path = op.path;
      let missing = false;
      for (const parameter of parameters) {
        const id = idFor(op.path, parameter);
        if (!id) missing = true;
        path = path.replace(`{${parameter}}`, id ?? '');
      }
      if (missing) {
        failures.push(`${op.method} ${op.path}: no id of B to call it with (teach populateWorkspaceB)`);
        continue;
      }
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const body = ['POST', 'PATCH', 'PUT'].includes(op.method) ? (exampleOf(schema) ?? {}) : undefined;
      const response = await api.request(op.method, path, { token: a.apiKey, body });
      swept += 1;
      if (response.status !== 404) {
        failures.push(`${op.method} ${op.path} answered ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
      } else if (!String(response.headers.get('content-type')).includes('application/problem+json')) {
        failures.push(`${op.method} ${op.path}: 404 without problem+json`);
      }
    }
    expect(failures).toEqual([]);
    expect(swept).toBeGreaterThanOrEqual(20);
    expect(await fingerprintOfB()).toBe(before);
  });
});
