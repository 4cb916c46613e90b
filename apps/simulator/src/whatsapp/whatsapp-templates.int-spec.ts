import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SimulatorHarness } from '#testing';

let sim: SimulatorHarness;
const ACCOUNT = {
  channel: 'whatsapp' as const,
  phoneNumberId: '106540352242922',
  accessToken: 'EAAG-templates-token',
  appSecret: 'app-secret-1',
  businessAccountId: '102290129340398',
};
let accountId: string;

beforeAll(async () => {
  sim = await SimulatorHarness.start();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await sim.reset();
  accountId = (await sim.registerAccount(ACCOUNT)).id;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function get(url: string, token = ACCOUNT.accessToken): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

const listUrl = (query = '', waba = ACCOUNT.businessAccountId) => `${sim.baseUrl}/v21.0/${waba}/message_templates${query}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function sendTemplate(template: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.baseUrl}/v21.0/${ACCOUNT.phoneNumberId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ACCOUNT.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', to: '16505551234', type: 'template', template }),
  });
  return { status: response.status, body: await response.json() };
}

describe('WhatsApp message templates (GET /{waba-id}/message_templates)', () => {
  it("lists the business account's templates (the account's businessAccountId is its WABA id), every status, with Meta's fields", async () => {
    const res = await get(listUrl());
    expect(res.status).toBe(200);
    expect(res.body.data.map((t: { name: string; language: string; status: string }) => `${t.name}/${t.language}/${t.status}`)).toEqual([
      'hello_world/en_US/APPROVED',
      'booking_reminder/en_US/APPROVED',
      'booking_reminder/pt_BR/APPROVED',
      'booking_update/en_US/APPROVED',
      'seasonal_offer/en_US/PENDING',
      'old_promo/en_US/REJECTED',
    ]);
    expect(res.body.data[1]).toEqual({
      id: expect.stringMatching(/^\d{16}$/),
      name: 'booking_reminder',
      language: 'en_US',
      status: 'APPROVED',
      category: 'UTILITY',
      parameter_format: 'POSITIONAL',
      components: [{ type: 'BODY', text: 'Hi {{1}}, a reminder that your tour starts on {{2}}. Reply here if anything changed.' }],
    });
    expect(res.body.paging.next).toBeUndefined();
  });

  it('filters by ?status= and pages with cursors until there is no next', async () => {
    expect((await get(listUrl('?status=APPROVED'))).body.data).toHaveLength(4);
    const names: string[] = [];
    let url: string | undefined = listUrl('?limit=4');
    for (let pages = 0; url && pages < 10; pages++) {
      const page = await get(url);
      expect(page.status).toBe(200);
      names.push(...page.body.data.map((t: { name: string }) => t.name));
      url = page.body.paging.next;
    }
    expect(names).toEqual(['hello_world', 'booking_reminder', 'booking_reminder', 'booking_update', 'seasonal_offer', 'old_promo']);
    const second = await get(listUrl(`?limit=4&after=${(await get(listUrl('?limit=4'))).body.paging.cursors.after}`));
    expect(second.body.data.map((t: { name: string }) => t.name)).toEqual(['seasonal_offer', 'old_promo']);
  });

  it('answers a bad token 401 (code 190) and another business account 400 (code 100, subcode 33)', async () => {
    const bad = await get(listUrl(), 'wrong-token');
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({ code: 190 });
    const other = await get(listUrl('', '999'));
    expect(other.status).toBe(400);
    expect(other.body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('replaces an account\'s templates through the control API', async () => {
    await sim.call('POST', '/_sim/whatsapp/templates', { account: accountId, templates: [{ name: 'only_one', language: 'th', status: 'PAUSED', body: 'สวัสดี {{1}}' }] });
    const res = await get(listUrl());
    expect(res.body.data).toEqual([expect.objectContaining({ name: 'only_one', language: 'th', status: 'PAUSED', category: 'UTILITY' })]);
    expect((await sim.call('GET', `/_sim/whatsapp/templates?account=${accountId}`)).templates).toHaveLength(1);
    await expect(sim.call('POST', '/_sim/whatsapp/templates', { account: accountId, templates: [{ name: 'x', language: 'en', status: 'MAYBE' }] })).rejects.toThrow(/status must be one of/);
  });
});

describe('WhatsApp template sends are checked like the Cloud API checks them', () => {
  it('takes an approved template with exactly its body parameters', async () => {
    const res = await sendTemplate({ name: 'booking_reminder', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'Friday' }] }] });
    expect(res.status).toBe(200);
    expect(res.body.messages[0]).toMatchObject({ message_status: 'accepted' });
  });

  it('refuses an unknown, unapproved or other-language template with #132001, and the wrong parameter count with #132000', async () => {
    for (const template of [
      { name: 'no_such', language: { code: 'en_US' } },
      { name: 'seasonal_offer', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] },
      { name: 'booking_update', language: { code: 'de_DE' } },
    ]) {
      const res = await sendTemplate(template);
      expect(res.status, template.name).toBe(400);
      expect(res.body.error).toMatchObject({ code: 132001 });
    }
    const wrong = await sendTemplate({ name: 'booking_reminder', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 132000 });
    expect((await sim.sent('whatsapp')).messages).toEqual([]);
  });
});
