import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleChannelConfig } from '#channels';
import { DomainError } from '#domain';
import { freePort, SimulatorHarness } from '#testing';
import { WhatsappTemplatesClient } from './whatsapp-templates.client.js';
import { OutboundGuard } from '#net';

describe('WhatsappTemplatesClient, against the simulated Graph API', () => {
  const client = new WhatsappTemplatesClient(new OutboundGuard({ allowPrivateUrls: true }));
  let sim: SimulatorHarness;
  const config = { ...exampleChannelConfig('whatsapp'), accessToken: 'EAA-client-token', businessAccountId: '555000111' };

  beforeAll(async () => {
    sim = await SimulatorHarness.start();
    const account = await sim.registerAccount({ channel: 'whatsapp', ...config });
    const templates = Array.from({ length: 230 }, (_, n) => ({
      name: `t_${String(n).padStart(3, '0')}`,
      language: 'en_US',
      status: ['APPROVED', 'PENDING', 'IN_APPEAL', 'REJECTED', 'PAUSED'][n % 5],
      category: n % 2 ? 'MARKETING' : 'UTILITY',
      body: n === 7 ? 'Gap {{2}}' : `Hello {{1}} number ${n}`,
    }));
    await sim.call('POST', '/_sim/whatsapp/templates', { account: account.id, templates });
  });

  afterAll(async () => {
    await sim?.close();
  });

  it('reads every page, and folds the statuses into approved, pending and rejected', async () => {
    const listed = await client.list({ ...config, apiBaseUrl: `${sim.baseUrl}/v21.0` }, 5000);
    expect(listed).toHaveLength(230);
    expect(listed.slice(0, 5).map((t) => t.status)).toEqual(['approved', 'pending', 'pending', 'rejected', 'rejected']);
    expect(listed[0]).toEqual({
      providerTemplateId: expect.any(String),
      name: 't_000',
      language: 'en_US',
      category: 'utility',
      status: 'approved',
      body: 'Hello {{1}} number 0',
      components: [{ type: 'BODY', text: 'Hello {{1}} number 0' }],
      parameterCount: 1,
    });
    // A body whose placeholders cannot be numbered cannot be filled in: stored, but not sendable.
    expect(listed[7]).toMatchObject({ name: 't_007', status: 'rejected', parameterCount: 0 });
  });

  it('answers templates.sync_failed when WhatsApp refuses, templates.provider_unavailable when it cannot be reached', async () => {
    const refused = await client.list({ ...config, accessToken: 'wrong', apiBaseUrl: `${sim.baseUrl}/v21.0` }, 5000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'templates.sync_failed', kind: 'unprocessable', message: expect.stringContaining('Invalid OAuth access token') });
    const port = await freePort();
    const unreachable = await client.list({ ...config, apiBaseUrl: `http://127.0.0.1:${port}/v21.0` }, 2000).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: 'templates.provider_unavailable', kind: 'unavailable' });
  });
});
