import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { OutboundGuard } from '#net';
import { sendWebhook, type WebhookRequest } from './webhook-sender.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A receiver whose answer each test picks by path; it records what it was sent. */
describe('sendWebhook', () => {
  let server: http.Server;
  let base: string;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const guard = new OutboundGuard({ allowPrivateUrls: true });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        switch (req.url) {
          case '/ok':
            res.writeHead(200).end('thanks');
            return;
          case '/long':
            res.writeHead(202).end('x'.repeat(100_000));
            return;
          case '/cut':
            res.writeHead(200, { 'content-length': '100' }).write('half of it');
            setTimeout(() => res.socket?.destroy(), 20);
            return;
          case '/redirect':
            res.writeHead(307, { location: '/ok' }).end();
            return;
          case '/fail':
            res.writeHead(503).end('down for maintenance');
            return;
          case '/silent':
            return; // never answers
          case '/dribble':
            res.writeHead(200).write('start');
            return; // the body never ends
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const send = (path: string, extra: Partial<WebhookRequest> = {}) =>
    sendWebhook(guard, { url: `${base}${path}`, webhookId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', timestamp: new Date(), body: '{"type":"contact.created"}', secrets: [SECRET], timeoutMs: 2000, ...extra });

  it('posts the body signed the Standard Webhooks way, and a 2xx succeeds with its excerpt', async () => {
    const answer = await send('/ok');
    expect(answer).toMatchObject({ succeeded: true, statusCode: 200, responseExcerpt: 'thanks', error: null });
    const { headers, body } = received.at(-1)!;
    expect(headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'Ferry-Webhooks/1', 'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' });
    expect(new Webhook(SECRET).verify(body, headers as Record<string, string>)).toEqual({ type: 'contact.created' });
  });

  it('keeps the first 1000 characters of a long answer and stops reading it', async () => {
    const answer = await send('/long');
    expect(answer).toMatchObject({ succeeded: true, statusCode: 202, error: null });
    expect(answer.responseExcerpt).toBe('x'.repeat(1000));
  });

  it('judges an answer cut short by its status, with what arrived', async () => {
    expect(await send('/cut')).toMatchObject({ succeeded: true, statusCode: 200, responseExcerpt: 'half of it' });
  });

  it('fails a redirect without following it, and any other status', async () => {
    const before = received.length;
    expect(await send('/redirect')).toMatchObject({ succeeded: false, statusCode: 307, error: 'Redirect (307) not followed' });
    expect(received.length).toBe(before + 1);
    expect(await send('/fail')).toMatchObject({ succeeded: false, statusCode: 503, responseExcerpt: 'down for maintenance', error: 'HTTP 503' });
  });

  it('gives up at the deadline, before the headers or during a body that never ends', async () => {
    const silent = await send('/silent', { timeoutMs: 200 });
    expect(silent).toMatchObject({ succeeded: false, statusCode: null, responseExcerpt: null, error: 'No answer within 200 ms' });
    expect(silent.latencyMs).toBeGreaterThanOrEqual(190);
    expect(await send('/dribble', { timeoutMs: 200 })).toMatchObject({ succeeded: true, statusCode: 200, responseExcerpt: 'start' });
  });

  it('reports a connection that fails, and refuses a private address when they are not allowed', async () => {
    const closed = await sendWebhook(guard, { url: 'http://127.0.0.1:1/in', webhookId: 'msg_1', timestamp: new Date(), body: '{}', secrets: [SECRET], timeoutMs: 2000 });
    expect(closed).toMatchObject({ succeeded: false, statusCode: null });
    expect(closed.error).toMatch(/ECONNREFUSED/);
    const strict = new OutboundGuard({ allowPrivateUrls: false });
    const refused = await sendWebhook(strict, { url: 'https://127.0.0.1/in', webhookId: 'msg_1', timestamp: new Date(), body: '{}', secrets: [SECRET], timeoutMs: 2000 });
    expect(refused).toMatchObject({ succeeded: false, statusCode: null, error: 'The endpoint URL must point at a public address' });
    const rebound = new OutboundGuard({ allowPrivateUrls: false, resolve: async () => [{ address: '10.0.0.7', family: 4 }] });
    const atConnect = await sendWebhook(rebound, { url: 'https://hooks.example.com/in', webhookId: 'msg_1', timestamp: new Date(), body: '{}', secrets: [SECRET], timeoutMs: 2000 });
    expect(atConnect).toMatchObject({ succeeded: false, statusCode: null });
    expect(atConnect.error).toContain('hooks.example.com resolves to 10.0.0.7');
  });
});
