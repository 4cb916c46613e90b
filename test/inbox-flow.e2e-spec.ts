import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ApiHarness } from '#testing';

/**
 * The integrator's path, over HTTP, from nothing: sign up, create an API key, connect an API-channel
 * inbox, push customers' messages in, see the conversations, reply, then list, filter, search and
 * page through everything.
 */
describe('inbox flow, end to end', () => {
  let api: ApiHarness;
  let owner: pg.Client;
  let accessToken: string;
  let apiKey: string;
  let inboxId: string;
  const customers = 23;

  beforeAll(async () => {
    api = await ApiHarness.start();
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  const asKey = (method: string, path: string, body?: unknown) => api.request(method, path, { token: apiKey, body });

  async function collect<T extends { id: string }>(path: string, limit: number): Promise<T[]> {
    const seen: T[] = [];
    let cursor: string | null = null;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const page = await asKey('GET', `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(limit);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    return seen;
  }

  it('signs up and creates an API key', async () => {
    const signup = await api.request('POST', '/v1/auth/signup', {
      body: { workspaceName: 'Mekong Tours', name: 'Lan', email: `lan-${Date.now()}@mekong.example`, password: 'correct horse battery' },
    });
    expect(signup.status).toBe(201);
    accessToken = signup.body.accessToken;
    const key = await api.request('POST', '/v1/api-keys', { token: accessToken, body: { name: 'CRM sync' } });
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(/^fry_/);
    apiKey = key.body.key;
  });

  it('connects an API-channel inbox', async () => {
    const inbox = await asKey('POST', '/v1/inboxes', { name: 'Website', channel: 'api', config: {} });
    expect(inbox.status).toBe(201);
    inboxId = inbox.body.id;
  });

  it('takes customers’ messages in and threads them into one conversation per customer', async () => {
    for (let i = 0; i < customers; i += 1) {
      const body = i === 0 ? '你好，我想预订去桂林的行程' : i % 2 ? `Need a quote for trip ${i}` : `Question about booking ${i}`;
      const response = await asKey('POST', `/v1/inboxes/${inboxId}/inbound`, {
        contact: { externalId: `customer-${i}`, name: `Customer ${i}` },
        message: { externalId: `m-${i}-1`, body },
      });
      expect(response.status).toBe(201);
    }
    const followUp = await asKey('POST', `/v1/inboxes/${inboxId}/inbound`, {
      contact: { externalId: 'customer-0' },
      message: { externalId: 'm-0-2', body: '请问价格是多少？' },
    });
    expect(followUp.status).toBe(201);
    const conversations = await collect<{ id: string; contact: { id: string } }>('/v1/conversations', 5);
    expect(conversations).toHaveLength(customers);
    expect(new Set(conversations.map((c) => c.contact.id)).size).toBe(customers);
    const first = conversations.find((c) => c.id === followUp.body.conversation.id);
    expect(first, 'the follow-up joined the customer’s conversation').toBeDefined();
    expect(conversations[0]!.id, 'the conversation with the newest activity comes first').toBe(first!.id);
  });

  it('queues an agent reply with exactly one outbox job', async () => {
    const conversation = (await asKey('GET', '/v1/conversations?limit=1')).body.data[0];
    const reply = await api.request('POST', `/v1/conversations/${conversation.id}/messages`, {
      token: accessToken,
      body: { type: 'text', body: '您好！桂林三日游的价格是每人 2,400 元。' },
    });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ status: 'queued', direction: 'out', conversationId: conversation.id });
    const jobs = await owner.query(`SELECT job_name, payload FROM outbox WHERE payload->>'messageId' = $1`, [reply.body.id]);
    expect(jobs.rows).toEqual([{ job_name: 'message.send', payload: { workspaceId: expect.any(String), messageId: reply.body.id } }]);
    const messages = await collect<{ id: string; body: string }>(`/v1/conversations/${conversation.id}/messages`, 1);
    expect(messages.map((m) => m.body)).toEqual(['您好！桂林三日游的价格是每人 2,400 元。', '请问价格是多少？', '你好，我想预订去桂林的行程']);
  });

  it('filters by status and label, and searches English words and Chinese text', async () => {
    await asKey('POST', '/v1/labels', { name: 'vip' });
    const all = await collect<{ id: string }>('/v1/conversations', 25);
    for (const conversation of all.slice(0, 4)) {
      expect((await asKey('PATCH', `/v1/conversations/${conversation.id}`, { status: 'resolved', labels: ['vip'] })).status).toBe(200);
    }
    expect(await collect('/v1/conversations?status=resolved', 3)).toHaveLength(4);
    expect(await collect('/v1/conversations?status=open', 3)).toHaveLength(customers - 4);
    expect(await collect('/v1/conversations?label=vip', 3)).toHaveLength(4);
    expect(await collect(`/v1/conversations?inboxId=${inboxId}`, 10)).toHaveLength(customers);
    const quotes = await collect('/v1/conversations?q=quote', 4);
    expect(quotes).toHaveLength(Math.floor(customers / 2));
    expect(await collect(`/v1/conversations?q=${encodeURIComponent('桂林')}`, 4)).toHaveLength(1);
    expect(await collect(`/v1/contacts?q=${encodeURIComponent('Customer 1')}`, 4)).toHaveLength(11); // 1, 10..19
  });
});
