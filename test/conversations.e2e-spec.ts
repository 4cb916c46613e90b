import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { uuidv7 } from '#domain';
import { ApiHarness, type ApiResponse, seedTenant, type SeededTenant } from '#testing';

/**
 * Contacts, conversations and messages over HTTP, fed by the API channel: a customer's messages come
 * in, thread into one conversation, agents reply and take notes, and everything lists, filters,
 * searches and pages. Bad input answers problem+json and writes nothing.
 */
describe('conversations, end to end', () => {
  let api: ApiHarness;
  let tenant: SeededTenant;
  let owner: pg.Client;
  let apiInbox: string;
  let secondApiInbox: string;
  let smsInbox: string;
  let conversationId: string;
  let contactId: string;
  let identityId: string;
  let replyId: string;
  let freshConversationId: string;

  const call = <T = any>(method: string, path: string, body?: unknown) => // eslint-disable-line @typescript-eslint/no-explicit-any -- bodies are asserted per test
    api.request<T>(method, path, { token: tenant.apiKey, ...(body === undefined ? {} : { body }) });
  const inbound = (inboxId: string, customer: string, messageId: string, body: string, extra: Record<string, string> = {}) =>
    call('POST', `/v1/inboxes/${inboxId}/inbound`, { contact: { externalId: customer, ...extra }, message: { externalId: messageId, body } });

  async function count(table: 'messages' | 'outbox' | 'contacts' | 'conversations' | 'contact_identities'): Promise<number> {
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM ${table} WHERE workspace_id = $1`, [tenant.workspaceId]);
    return rows[0].n;
  }
  const written = async () => ({ messages: await count('messages'), outbox: await count('outbox'), contacts: await count('contacts') });

  async function insertInbox(channel: string, name: string): Promise<string> {
    const id = uuidv7();
    await owner.query(`INSERT INTO inboxes (id, workspace_id, name, channel) VALUES ($1, $2, $3, $4)`, [id, tenant.workspaceId, name, channel]);
    return id;
  }

  function expectProblem(response: ApiResponse, status: number, code: string): void {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, code });
  }

  async function collect<T extends { id: string }>(path: string, limit: number): Promise<T[]> {
    const seen: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 200; pages++) {
      const separator = path.includes('?') ? '&' : '?';
      const page: ApiResponse = await call('GET', `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(limit);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    return seen;
  }

  beforeAll(async () => {
    api = await ApiHarness.start({ RATE_LIMIT_PER_MINUTE: '100000' });
    tenant = await seedTenant(api.config, 'Guilin Tours');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    apiInbox = await insertInbox('api', 'Website');
    secondApiInbox = await insertInbox('api', 'Partner CRM');
    smsInbox = await insertInbox('sms', 'Twilio');
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  it('takes a customer message in through the API channel: contact, identity and conversation appear', async () => {
    const response = await inbound(apiInbox, 'cust-wang', 'wang-1', '你好，我想把行程改到星期五', { name: '王小明', email: 'xiaoming@example.cn' });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body.message).toMatchObject({
      direction: 'in', type: 'text', status: 'received', channel: 'api', inboxId: apiInbox, externalId: 'wang-1', body: '你好，我想把行程改到星期五',
    });
    conversationId = response.body.conversation.id;
    contactId = response.body.conversation.contact.id;
    identityId = response.body.message.identityId;
    expect(response.body.conversation).toMatchObject({ status: 'open', lastInboxId: apiInbox, contact: { name: '王小明' } });

    const contact = await call('GET', `/v1/contacts/${contactId}`);
    expect(contact.status).toBe(200);
    expect(contact.body).toMatchObject({ name: '王小明', email: 'xiaoming@example.cn' });
    expect(contact.body.identities).toEqual([
      expect.objectContaining({ id: identityId, inboxId: apiInbox, channel: 'api', externalId: 'cust-wang', displayName: '王小明', lastInboundAt: expect.any(String) }),
    ]);
    const conversation = await call('GET', `/v1/conversations/${conversationId}`);
    expect(conversation.body).toMatchObject({ id: conversationId, lastMessage: { body: '你好，我想把行程改到星期五', direction: 'in' } });
  });

  it('threads the same customer\'s next message into the same conversation', async () => {
    const second = await inbound(apiInbox, 'cust-wang', 'wang-2', 'Is Friday possible?');
    expect(second.status).toBe(201);
    expect(second.body.conversation.id).toBe(conversationId);
    expect(await count('contacts')).toBe(1);
    expect(await count('conversations')).toBe(1);
  });

  it('recognises the same person on another inbox by email (contact-centric)', async () => {
    const other = await inbound(secondApiInbox, 'crm-778', 'crm-1', 'Following up from the partner desk', { email: 'XiaoMing@example.cn' });
    expect(other.status).toBe(201);
    expect(other.body.conversation.id).toBe(conversationId);
    expect(other.body.message.inboxId).toBe(secondApiInbox);
    expect((await call('GET', `/v1/contacts/${contactId}`)).body.identities).toHaveLength(2);
    // The customer wrote last on the partner inbox; the reply should go back on the first one below (via).
  });

  it('treats a redelivered message as a no-op answering 200 with the existing message', async () => {
    const before = await written();
    const again = await inbound(apiInbox, 'cust-wang', 'wang-1', 'a different body does not matter');
    expect(again.status).toBe(200);
    expect(again.body.message).toMatchObject({ externalId: 'wang-1', body: '你好，我想把行程改到星期五' });
    expect(again.body.conversation.id).toBe(conversationId);
    expect(await written()).toEqual(before);
  });

  it('does not create two contacts or conversations for concurrent first messages of a new customer', async () => {
    const before = { contacts: await count('contacts'), conversations: await count('conversations') };
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => inbound(apiInbox, 'cust-race', `race-${i}`, `race message ${i}`, { name: 'Racer' })),
    );
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(new Set(responses.map((r) => r.body.conversation.id)).size).toBe(1);
    expect(await count('contacts')).toBe(before.contacts + 1);
    expect(await count('conversations')).toBe(before.conversations + 1);
    const redelivered = await Promise.all([0, 1, 2].map(() => inbound(apiInbox, 'cust-race', 'race-0', 'again')));
    expect(redelivered.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('refuses inbound to an inbox that is not an api inbox, or that does not exist', async () => {
    const before = await written();
    expectProblem(await inbound(smsInbox, 'x', 'x-1', 'hi'), 409, 'inbox.not_api_channel');
    expectProblem(await inbound(uuidv7(), 'x', 'x-1', 'hi'), 404, 'inbox.not_found');
    expectProblem(await inbound('not-a-uuid', 'x', 'x-1', 'hi'), 404, 'inbox.not_found');
    expectProblem(await call('POST', `/v1/inboxes/${apiInbox}/inbound`, { contact: { externalId: 'x' }, message: { body: 'no id' } }), 400, 'request.invalid');
    expectProblem(await inbound(apiInbox, 'x', 'x-1', 'hi', { phone: '555-0100' }), 400, 'request.invalid');
    expect(await written()).toEqual(before);
  });

  it('queues an agent\'s text reply (202) with exactly one message.send outbox row', async () => {
    const reply = await call('POST', `/v1/conversations/${conversationId}/messages`, { type: 'text', body: 'Friday works, see you then', via: { identityId } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    expect(reply.body).toMatchObject({
      conversationId, direction: 'out', type: 'text', status: 'queued', identityId, inboxId: apiInbox, channel: 'api', senderMemberId: tenant.memberId, fallback: [],
    });
    replyId = reply.body.id;
    const jobs = await owner.query(`SELECT job_name, payload FROM outbox WHERE payload->>'messageId' = $1`, [replyId]);
    expect(jobs.rows).toEqual([{ job_name: 'message.send', payload: { workspaceId: tenant.workspaceId, messageId: replyId } }]);

    // Without via, the reply goes where the customer last wrote (the partner inbox).
    const byDefault = await call('POST', `/v1/conversations/${conversationId}/messages`, { type: 'text', body: 'Also: bring your passport' });
    expect(byDefault.status).toBe(202);
    expect(byDefault.body.inboxId).toBe(secondApiInbox);

    const detail = await call('GET', `/v1/messages/${replyId}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: replyId, status: 'queued', attempts: [] });
  });

  it('stores a note without a send job, never to be sent (no outbox row: no webhook endpoint wants its message.created event)', async () => {
    const before = await count('outbox');
    const note = await call('POST', `/v1/conversations/${conversationId}/messages`, { type: 'note', body: 'Customer prefers WeChat' });
    expect(note.status).toBe(202);
    expect(note.body).toMatchObject({ direction: 'note', type: 'note', status: 'received', identityId: null, inboxId: null });
    expect(await count('outbox')).toBe(before);
    const stored = await owner.query(`SELECT direction, status FROM messages WHERE id = $1`, [note.body.id]);
    expect(stored.rows).toEqual([{ direction: 'note', status: 'received' }]);
  });

  it('answers 422 reachability.no_identity for a contact with no identity, writing nothing', async () => {
    const contact = await call('POST', '/v1/contacts', { name: 'Nobody Reachable' });
    expect(contact.status).toBe(201);
    const conversation = await call('POST', '/v1/conversations', { contactId: contact.body.id });
    expect(conversation.status).toBe(201);
    const before = await written();
    expectProblem(await call('POST', `/v1/conversations/${conversation.body.id}/messages`, { type: 'text', body: 'hello?' }), 422, 'reachability.no_identity');
    expect(await written()).toEqual(before);
  });

  it('keeps one open conversation per contact: open, resolve, reopen', async () => {
    const conflict = await call('POST', '/v1/conversations', { contactId });
    expectProblem(conflict, 409, 'conversation.already_open');
    expect(conflict.body.detail).toContain(conversationId);

    const resolved = await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'resolved' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) });
    const fresh = await call('POST', '/v1/conversations', { contactId });
    expect(fresh.status).toBe(201);
    freshConversationId = fresh.body.id;
    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'open' }), 409, 'conversation.already_open');

    // Close the new one again and reopen the original thread.
    expect((await call('PATCH', `/v1/conversations/${fresh.body.id}`, { status: 'resolved' })).status).toBe(200);
    const reopened = await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'open' });
    expect(reopened.body).toMatchObject({ status: 'open', resolvedAt: null });
  });

  it('assigns, labels, snoozes and checks every reference', async () => {
    await owner.query(`INSERT INTO labels (id, workspace_id, name) VALUES ($1, $2, 'vip')`, [uuidv7(), tenant.workspaceId]);
    const patched = await call('PATCH', `/v1/conversations/${conversationId}`, { assigneeId: tenant.memberId, labels: ['vip'], priority: 'high', status: 'pending' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ assigneeId: tenant.memberId, labels: ['vip'], priority: 'high', status: 'pending' });

    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { labels: ['ghost'] }), 400, 'label.not_found');
    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { assigneeId: uuidv7() }), 400, 'member.not_found');
    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { teamId: uuidv7() }), 400, 'team.not_found');
    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'snoozed' }), 400, 'request.invalid');
    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'snoozed', snoozedUntil: '2001-01-01T00:00:00Z' }), 400, 'request.invalid');
    expectProblem(await call('PATCH', `/v1/conversations/${conversationId}`, { status: null }), 400, 'request.invalid');
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const snoozed = await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'snoozed', snoozedUntil: until });
    expect(snoozed.body).toMatchObject({ status: 'snoozed', snoozedUntil: until });
    const back = await call('PATCH', `/v1/conversations/${conversationId}`, { status: 'pending' });
    expect(back.body).toMatchObject({ status: 'pending', snoozedUntil: null, labels: ['vip'] });
  });

  it('lists conversations with filters: status, label, inbox, assignee', async () => {
    const ids = async (query: string) => (await collect<{ id: string }>(`/v1/conversations?${query}`, 100)).map((c) => c.id);
    expect(await ids('status=pending')).toEqual([conversationId]);
    expect(await ids('label=vip')).toEqual([conversationId]);
    expect(await ids(`assigneeId=${tenant.memberId}`)).toEqual([conversationId]);
    expect(await ids(`inboxId=${secondApiInbox}`)).toEqual([conversationId]);
    const onApiInbox = await ids(`inboxId=${apiInbox}`);
    expect(onApiInbox).not.toContain(conversationId);
    expect(onApiInbox).toHaveLength(1); // the racer's
    expect(await ids('status=open&label=vip')).toEqual([]);
    expectProblem(await call('GET', '/v1/conversations?status=closed'), 400, 'request.invalid');
    expectProblem(await call('GET', '/v1/conversations?assigneeId=me'), 400, 'request.invalid');
  });

  it('searches contacts and messages in English and Chinese', async () => {
    const ids = async (q: string) => (await collect<{ id: string }>(`/v1/conversations?q=${encodeURIComponent(q)}`, 100)).map((c) => c.id);
    expect(await ids('星期五')).toEqual([conversationId]);
    // Both of 王小明's conversations: the current one and the one resolved above.
    expect((await ids('小明')).sort()).toEqual([conversationId, freshConversationId].sort());
    expect(await ids('friday')).toEqual([conversationId]);
    expect(await ids('passport')).toEqual([conversationId]);
    expect(await ids('race message')).toHaveLength(1);
    expect(await ids('zebra')).toEqual([]);
    const contacts = await collect<{ id: string; name: string }>(`/v1/contacts?q=${encodeURIComponent('王小')}`, 10);
    expect(contacts.map((c) => c.id)).toEqual([contactId]);
  });

  it('pages conversations and messages to the end (limit 2) without duplicates or gaps', async () => {
    for (let i = 0; i < 7; i++) expect((await inbound(apiInbox, `pager-${i}`, `pager-${i}-1`, `page me ${i}`)).status).toBe(201);
    // Several conversations share one last_activity_at: the keyset must still neither repeat nor skip.
    await owner.query(`UPDATE conversations SET last_activity_at = '2025-01-01T00:00:00.000001Z' WHERE workspace_id = $1 AND id <> $2`, [tenant.workspaceId, conversationId]);
    const { rows } = await owner.query(`SELECT id FROM conversations c WHERE workspace_id = $1 AND EXISTS (SELECT 1 FROM contacts ct WHERE ct.id = c.contact_id AND ct.deleted_at IS NULL) ORDER BY last_activity_at DESC, id DESC`, [tenant.workspaceId]);
    const paged = await collect<{ id: string }>('/v1/conversations', 2);
    expect(paged.map((c) => c.id)).toEqual(rows.map((r: { id: string }) => r.id));

    const all = await owner.query(`SELECT id FROM messages WHERE conversation_id = $1 ORDER BY id`, [conversationId]);
    const oldestFirst = (await collect<{ id: string }>(`/v1/conversations/${conversationId}/messages?order=asc`, 2)).map((m) => m.id);
    expect(oldestFirst).toEqual(all.rows.map((r: { id: string }) => r.id));
    const newestFirst = (await collect<{ id: string }>(`/v1/conversations/${conversationId}/messages`, 2)).map((m) => m.id);
    expect(newestFirst).toEqual([...oldestFirst].reverse());

    const contacts = await collect<{ id: string }>('/v1/contacts', 2);
    expect(new Set(contacts.map((c) => c.id)).size).toBe(contacts.length);
    expect(contacts).toHaveLength(await owner.query(`SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND deleted_at IS NULL`, [tenant.workspaceId]).then((r) => r.rows[0].n));
  });

  it('answers bad message input with 400 problem+json and writes nothing', async () => {
    const stranger = await inbound(apiInbox, 'stranger', 'stranger-1', 'hello');
    const strangerIdentity: string = stranger.body.message.identityId;
    const path = `/v1/conversations/${conversationId}/messages`;
    const cases: Array<[string, ApiResponse, string]> = [
      ['unknown field', await call('POST', path, { type: 'text', body: 'hi', urgent: true }), 'request.invalid'],
      ['wrong types', await call('POST', path, { type: 'text', body: 42 }), 'request.invalid'],
      ['unknown type', await call('POST', path, { type: 'fax', body: 'hi' }), 'request.invalid'],
      ['empty object', await call('POST', path, {}), 'request.invalid'],
      ['empty text', await call('POST', path, { type: 'text', body: '' }), 'request.invalid'],
      ['too long', await call('POST', path, { type: 'text', body: 'x'.repeat(4097) }), 'request.invalid'],
      ['template without template', await call('POST', path, { type: 'template' }), 'request.invalid'],
      ['via a malformed id', await call('POST', path, { type: 'text', body: 'hi', via: { identityId: 'nope' } }), 'request.invalid'],
      ['via another contact\'s identity', await call('POST', path, { type: 'text', body: 'hi', via: { identityId: strangerIdentity } }), 'message.invalid_identity'],
      ['fallback to another contact', await call('POST', path, { type: 'text', body: 'hi', fallback: [strangerIdentity] }), 'message.invalid_identity'],
      ['note via an identity', await call('POST', path, { type: 'note', body: 'hi', via: { identityId } }), 'request.invalid'],
    ];
    const before = await written();
    // The empty body's code belongs to the shared ProblemFilter (Fastify's JSON parser); here: 400, problem+json.
    const empty = await api.request('POST', path, { token: tenant.apiKey, rawBody: '' });
    cases.push(['empty body', empty, '']);
    for (const [name, response, code] of cases) {
      expect(response.status, `${name}: ${JSON.stringify(response.body)}`).toBe(400);
      expect(response.headers.get('content-type'), name).toContain('application/problem+json');
      if (code) expect(response.body.code, name).toBe(code);
    }
    expect(await written()).toEqual(before);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND direction = 'out'`, [conversationId]);
    expect(rows[0].n).toBe(2); // the two replies above, nothing from the bad requests
  });

  it('answers bad cursors, unknown ids and malformed ids without writing anything', async () => {
    const before = await written();
    const badCursor = Buffer.from(JSON.stringify(['not a time', uuidv7()])).toString('base64url');
    expectProblem(await call('GET', `/v1/conversations?cursor=${badCursor}`), 400, 'pagination.invalid_cursor');
    expectProblem(await call('GET', '/v1/conversations?cursor=garbage'), 400, 'pagination.invalid_cursor');
    expectProblem(await call('GET', '/v1/contacts?cursor=garbage'), 400, 'pagination.invalid_cursor');
    const ascCursor = (await call('GET', `/v1/conversations/${conversationId}/messages?order=asc&limit=1`)).body.nextCursor;
    expectProblem(await call('GET', `/v1/conversations/${conversationId}/messages?cursor=${ascCursor}`), 400, 'pagination.invalid_cursor');
    expectProblem(await call('GET', `/v1/conversations/${uuidv7()}`), 404, 'conversation.not_found');
    expectProblem(await call('GET', '/v1/conversations/123'), 404, 'conversation.not_found');
    expectProblem(await call('POST', `/v1/conversations/${uuidv7()}/messages`, { type: 'text', body: 'hi' }), 404, 'conversation.not_found');
    expectProblem(await call('GET', `/v1/messages/${uuidv7()}`), 404, 'message.not_found');
    expectProblem(await call('POST', '/v1/conversations', { contactId: uuidv7() }), 404, 'contact.not_found');
    expect(await written()).toEqual(before);
  });

  it('manages contacts: validation, uniqueness, identities, soft delete', async () => {
    const before = await written();
    const invalid = await call('POST', '/v1/contacts', {
      phone: '0101234567', language: 'english', timezone: 'Mars/Base', country: 'XX', customAttributes: { nested: { no: true } },
    });
    expectProblem(invalid, 400, 'request.invalid');
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['country', 'customAttributes', 'language', 'phone', 'timezone']);
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    expectProblem(await call('POST', '/v1/contacts', { customAttributes: tooMany }), 400, 'request.invalid');
    expectProblem(await call('POST', '/v1/contacts', { email: 'XIAOMING@example.cn' }), 409, 'contact.email_taken');
    expect(await written()).toEqual(before);

    const ada = await call('POST', '/v1/contacts', {
      name: 'Ada', email: 'ada@example.com', phone: '+14155550100', language: 'en-us', timezone: 'America/New_York', country: 'US', customAttributes: { vip: true, trips: 2, note: null },
    });
    expect(ada.status, JSON.stringify(ada.body)).toBe(201);
    expect(ada.body).toMatchObject({ language: 'en-US', customAttributes: { vip: true, trips: 2, note: null }, identities: [] });
    expectProblem(await call('POST', '/v1/contacts', { phone: '+14155550100' }), 409, 'contact.phone_taken');
    expectProblem(await call('PATCH', `/v1/contacts/${ada.body.id}`, { email: 'xiaoming@example.cn' }), 409, 'contact.email_taken');
    const patched = await call('PATCH', `/v1/contacts/${ada.body.id}`, { name: 'Ada Lovelace', phone: null });
    expect(patched.body).toMatchObject({ name: 'Ada Lovelace', phone: null, email: 'ada@example.com' });

    const identity = await call('POST', `/v1/contacts/${ada.body.id}/identities`, { inboxId: smsInbox, externalId: '+14155550100' });
    expect(identity.status).toBe(201);
    expect(identity.body).toMatchObject({ channel: 'sms', inboxId: smsInbox, externalId: '+14155550100' });
    expectProblem(await call('POST', `/v1/contacts/${contactId}/identities`, { inboxId: smsInbox, externalId: '+14155550100' }), 409, 'identity.taken');
    expectProblem(await call('POST', `/v1/contacts/${ada.body.id}/identities`, { inboxId: uuidv7(), externalId: 'x' }), 404, 'inbox.not_found');

    expect((await call('DELETE', `/v1/contacts/${ada.body.id}`)).status).toBe(204);
    expectProblem(await call('GET', `/v1/contacts/${ada.body.id}`), 404, 'contact.not_found');
    expectProblem(await call('DELETE', `/v1/contacts/${ada.body.id}`), 404, 'contact.not_found');
    // Her email is free again for a new contact.
    expect((await call('POST', '/v1/contacts', { email: 'ada@example.com' })).status).toBe(201);
  });
});
