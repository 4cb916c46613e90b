import { describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import { WebchatAdapter } from './webchat.adapter.js';

describe('WebchatAdapter', () => {
  const adapter = new WebchatAdapter();

  it('delivers at once: the widget reads the thread from Ferry', async () => {
    const message = { messageId: '0195f0a0-0000-7000-8000-000000000001', to: 'visitor-1', body: 'Hello', statusCallbackUrl: 'https://ferry.example/x' };
    expect(await adapter.send(message)).toEqual({ ok: true, providerMessageId: message.messageId, responseCode: 'local' });
  });

  it('has no provider hook', async () => {
    expect(adapter.verify()).toMatchObject({ kind: 'rejected', code: 'hook.not_supported' });
    await expect(adapter.parse()).rejects.toMatchObject({ code: 'hook.malformed' });
    await expect(adapter.parse()).rejects.toBeInstanceOf(DomainError);
  });
});
