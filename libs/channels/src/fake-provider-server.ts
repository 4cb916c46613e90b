import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SendContext } from './channel-adapter.js';
import { OutboundGuard } from '#net';

/**
 * For the adapters' specs only: a provider played by a local HTTP server on an ephemeral port,
 * which records every call and answers what the test scripts. The adapters reach it through
 * `apiBaseUrl`, as they reach the simulators and regional gateways.
 */

export interface RecordedCall {
  method: string;
  /** Path and query. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON, a string as is. */
  body?: unknown;
  /** Never answer (the caller's timeout must fire). */
  hang?: boolean;
}

export interface FakeProvider {
  url: string;
  calls: RecordedCall[];
  answer(script: (call: RecordedCall) => ScriptedAnswer): void;
  close(): Promise<void>;
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const calls: RecordedCall[] = [];
  let script: (call: RecordedCall) => ScriptedAnswer = () => ({ status: 200, body: {} });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? (JSON.parse(body) as unknown) : undefined;
      } catch {
        json = undefined;
      }
      const call: RecordedCall = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
      calls.push(call);
      const answer = script(call);
      if (answer.hang) return;
      const text = typeof answer.body === 'string' ? answer.body : answer.body === undefined ? '' : JSON.stringify(answer.body);
      const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json';
      res.writeHead(answer.status, { 'content-type': type, ...answer.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    answer(next) {
      script = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The fakes listen on 127.0.0.1: the guard of these tests allows private addresses. */
export const TEST_GUARD = new OutboundGuard({ allowPrivateUrls: true });

export function sendContext(timeoutMs = 5_000, now = new Date('2026-03-01T12:00:00Z')): SendContext {
  return {
    timeoutMs,
    guard: TEST_GUARD,
    now: () => now,
    tokens: {
      get: async (_key, fetch) => (await fetch()).token,
      invalidate: async () => undefined,
    },
  };
}
