import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { TenantDb } from '#database';
import { OutboundGuard, standardWebhookSignatures } from '#net';
import { WebhookSecretCipher } from '../webhook-secrets.js';
import type { EndpointRow, WebhookEndpointsRepository } from './webhook-endpoints.repository.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-03-01T12:00:00Z');

/** One endpoint row in memory, behind the two repository calls rotation makes. */
function memoryRepository(row: EndpointRow): WebhookEndpointsRepository {
  return {
    find: async () => row,
    rotateSecret: async (_tx: unknown, _id: string, secretSealed: string, previousSealed: string, previousExpiresAt: Date) => {
      Object.assign(row, { secretSealed, previousSecretSealed: previousSealed, previousSecretExpiresAt: previousExpiresAt });
      return row;
    },
  } as unknown as WebhookEndpointsRepository;
}

describe('secret rotation', () => {
  it('signs with the old and the new secret for 24 hours after a rotation, then with the new one only', async () => {
    const cipher = new WebhookSecretCipher('a-test-app-secret-of-at-least-32-characters');
    const oldSecret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const id = '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d';
    const row: EndpointRow = {
      id,
      workspaceId: '0195f3a2-7c1e-7d40-9a6b-000000000001',
      url: 'https://hooks.example.com/in',
      events: ['message.created'],
      secretSealed: cipher.seal(oldSecret, id),
      previousSecretSealed: null,
      previousSecretExpiresAt: null,
      failingSince: null,
      disabledAt: null,
      disabledReason: null,
      createdAt: T0,
      updatedAt: T0,
    };
    let now = T0;
    const db = { run: (workspaceId: string, work: (tx: unknown) => unknown) => work({ workspaceId }) } as unknown as TenantDb;
    const service = new WebhookEndpointsService(db, memoryRepository(row), cipher, new OutboundGuard({ allowPrivateUrls: false }), () => now);

    expect(service.signingSecrets(row, now)).toEqual([oldSecret]);
    const { secret: newSecret } = await service.rotateSecret(row.workspaceId, id);
    expect(newSecret).not.toBe(oldSecret);

    const body = '{"id":"evt","type":"message.created"}';
    /**
     * The webhook-signature header Ferry sends with the secrets that sign at `at`, checked by the official
     * library (which holds the timestamp to its own clock, so the header carries the real time).
     */
    const signature = (at: Date, timestamp: number) => standardWebhookSignatures(service.signingSecrets(row, at), 'evt', timestamp, body);
    const verifies = (secret: string, at: Date): boolean => {
      const timestamp = Math.floor(Date.now() / 1000);
      try {
        new Webhook(secret).verify(body, { 'webhook-id': 'evt', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature(at, timestamp) });
        return true;
      } catch {
        return false;
      }
    };

    now = new Date(T0.getTime() + 24 * HOUR - 1000);
    expect(service.signingSecrets(row, now)).toEqual([newSecret, oldSecret]);
    expect(signature(now, 1).split(' ')).toHaveLength(2);
    expect(verifies(newSecret, now)).toBe(true);
    expect(verifies(oldSecret, now)).toBe(true);

    now = new Date(T0.getTime() + 24 * HOUR);
    expect(service.signingSecrets(row, now)).toEqual([newSecret]);
    expect(verifies(newSecret, now)).toBe(true);
    expect(verifies(oldSecret, now)).toBe(false);
  });
});
