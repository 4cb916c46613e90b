import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pg from 'pg';
import type { OpenAPIObject } from '@nestjs/swagger';
import { EVENT_TYPES, type EventEnvelope, type EventType, uuidv7 } from '#domain';
import { ApiHarness, seedTenant, type SeededTenant } from '#testing';
import { eventSchemaName } from '../apps/api/src/events/event-schemas.js';

type Schema = { properties?: Record<string, unknown>; allOf?: Schema[]; $ref?: string };

/**
 * The event catalogue as integrators read it: the OpenAPI document (3.1) lists every event type in
 * `webhooks`, and the events Ferry really writes match those schemas, with `data` equal to what the
 * REST API answers for the same resource.
 */
describe('event catalogue in the OpenAPI document', () => {
  let api: ApiHarness;
  let document: OpenAPIObject & { webhooks?: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } } }> };
  let tenant: SeededTenant;
  let owner: pg.Client;

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await api.request(method, path, { token: tenant.apiKey, ...(body === undefined ? {} : { body }) });
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  let seen = '00000000-0000-0000-0000-000000000000';
  const newEvents = async (): Promise<EventEnvelope[]> => {
    const { rows } = await owner.query<{ id: string; event: EventEnvelope }>(
      `SELECT id, payload->'event' AS event FROM outbox WHERE workspace_id = $1 AND job_name = 'event.dispatch' AND id > $2 ORDER BY id`,
      [tenant.workspaceId, seen],
    );
    if (rows.length > 0) seen = rows[rows.length - 1]!.id;
    return rows.map((row) => row.event);
  };
  const only = (events: EventEnvelope[], type: EventType): EventEnvelope => {
    const found = events.filter((event) => event.type === type);
    expect(found, `${type} in ${events.map((event) => event.type).join(', ')}`).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    api = await ApiHarness.start({ ALLOW_PRIVATE_URLS: 'true' });
    document = (await api.request('GET', '/openapi.json')).body;
    tenant = await seedTenant(api.config, 'Event catalogue');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    // Events are queued for fan-out only when an endpoint wants them: this one wants them all (and is never called here).
    const endpoint = await api.request('POST', '/v1/webhook-endpoints', { token: tenant.apiKey, body: { url: 'http://127.0.0.1:9/events', events: [...EVENT_TYPES] } });
    expect(endpoint.status).toBe(201);
  });
  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  it('is OpenAPI 3.1 with one webhook per event type, each posting its envelope', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.webhooks ?? {}).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      expect(document.webhooks?.[type]?.post?.requestBody?.content?.['application/json']?.schema?.$ref).toBe(`#/components/schemas/${eventSchemaName(type)}`);
    }
  });

  it('describes the events Ferry writes, whose data is the resource as the API answers it', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ ...document, $id: 'ferry-openapi' } as never);
    const check = (event: EventEnvelope) => {
      const validate = ajv.getSchema(`ferry-openapi#/components/schemas/${eventSchemaName(event.type)}`)!;
      expect({ type: event.type, valid: validate(event), errors: validate.errors ?? null }).toEqual({ type: event.type, valid: true, errors: null });
    };
    // Fields beyond the DTO's would pass a schema without additionalProperties: false; check them too.
    const propertiesOf = (name: string): string[] => {
      const schema = document.components!.schemas![name] as Schema;
      return Object.keys(schema.properties ?? {});
    };
    await newEvents();

    const inbox = await call('POST', '/v1/inboxes', { name: `Catalogue ${uuidv7()}`, channel: 'api', config: {} });
    const received = await call('POST', `/v1/inboxes/${inbox.id}/inbound`, {
      contact: { externalId: `cat-${uuidv7()}`, name: 'Bo' },
      message: { externalId: `m-${uuidv7()}`, body: 'Hello there' },
    });
    const conversationId: string = received.conversation.id;
    const opened = await newEvents();
    expect(opened.map((event) => event.type).sort()).toEqual(['contact.created', 'conversation.created', 'message.created']);
    const contactId = (only(opened, 'contact.created').data as { id: string }).id;

    await call('PATCH', `/v1/contacts/${contactId}`, { name: 'Bo Li', language: 'zh-CN' });
    const contactUpdated = only(await newEvents(), 'contact.updated');
    expect(contactUpdated.data).toEqual(await call('GET', `/v1/contacts/${contactId}`));
    expect(Object.keys(contactUpdated.data).sort()).toEqual(propertiesOf('ContactDto').sort());

    const note = await call('POST', `/v1/conversations/${conversationId}/messages`, { type: 'note', body: 'Call back Friday' });
    const messageCreated = only(await newEvents(), 'message.created');
    const { attempts: _attempts, ...message } = await call('GET', `/v1/messages/${note.id}`);
    expect(messageCreated.data).toEqual(message);
    expect(Object.keys(messageCreated.data).sort()).toEqual(propertiesOf('MessageDto').sort());

    await call('PATCH', `/v1/conversations/${conversationId}`, { priority: 'high', status: 'pending' });
    const conversationUpdated = only(await newEvents(), 'conversation.updated');
    expect(conversationUpdated.data).toEqual(await call('GET', `/v1/conversations/${conversationId}`));
    expect(Object.keys(conversationUpdated.data).sort()).toEqual(propertiesOf('ConversationDto').sort());

    await call('PATCH', `/v1/inboxes/${inbox.id}`, { name: 'Catalogue renamed' });
    const inboxUpdated = only(await newEvents(), 'inbox.updated');
    expect(inboxUpdated.data).toEqual({ ...(await call('GET', `/v1/inboxes/${inbox.id}`)), deletedAt: null });
    expect(Object.keys(inboxUpdated.data).sort()).toEqual([...propertiesOf('InboxDto'), 'deletedAt'].sort());

    await call('DELETE', `/v1/inboxes/${inbox.id}`);
    const inboxDeleted = only(await newEvents(), 'inbox.updated');
    expect(inboxDeleted.data).toMatchObject({ id: inbox.id, name: 'Catalogue renamed', deletedAt: expect.any(String) });

    for (const event of [...opened, contactUpdated, messageCreated, conversationUpdated, inboxUpdated, inboxDeleted]) check(event);
    // And a schema that can fail: a message event without its status is refused.
    const { status: _status, ...withoutStatus } = messageCreated.data as Record<string, unknown>;
    expect(ajv.getSchema(`ferry-openapi#/components/schemas/${eventSchemaName('message.created')}`)!({ ...messageCreated, data: withoutStatus })).toBe(false);
  });
});
