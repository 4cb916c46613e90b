import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { percentile } from './measure.js';

/**
 * The two drivers of the delivery benchmark, and the numbers they make. Each message gets its send
 * time here (wall clock, ms) and its arrival time where it lands (the stored row's created_at for
 * inbound, the simulator's acceptedAt for outbound): same machine, same clock.
 */

/** One HTTP request; answers the status, or 0 when it never got one. */
export function request(
  agent: http.Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const headers: Record<string, string | number> = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
  return new Promise((resolve) => {
    const req = http.request(
      { agent, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy());
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.end(options.body);
  });
}

/** How the messages of a phase are sent: at a fixed rate (open loop), or by N clients back to back. */
export type Pace = { kind: 'rate'; perSecond: number; count: number } | { kind: 'clients'; clients: number; count: number };

export interface Sent {
  key: string;
  sentAt: number;
  /** When the server answered (the hook's 200, the POST's 202). */
  answeredAt: number;
}

/**
 * Sends `pace.count` messages; `send(i)` sends the i-th and answers its key (wamid, message id) or
 * throws. Open loop: message i is due at start + i / rate, and its send time is that due time.
 */
export async function drive(pace: Pace, send: (i: number) => Promise<string>): Promise<{ sent: Sent[]; failures: string[] }> {
  const sent: Sent[] = [];
  const failures: string[] = [];
  const one = async (i: number, sentAt: number): Promise<void> => {
    try {
      const key = await send(i);
      sent.push({ key, sentAt, answeredAt: Date.now() });
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  };
  if (pace.kind === 'clients') {
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < pace.count) await one(next++, Date.now());
    };
    await Promise.all(Array.from({ length: pace.clients }, client));
    return { sent, failures };
  }
  const interval = 1000 / pace.perSecond;
  const start = Date.now() + 20;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < pace.count; i++) {
    const due = start + i * interval;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(one(i, due));
  }
  await Promise.all(pending);
  return { sent, failures };
}

export interface FlowStats {
  messages: number;
  /** Messages per second from the first send to the last arrival. */
  perSecond: number;
  /** Messages per second the server answered (accepted), from the first send to the last answer. */
  acceptedPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Sent but never arrived within the wait. */
  missing: number;
  failures: number;
}


/** Latency and rate of a phase, from each message's send time and arrival time. */
export function flowStats(sent: Sent[], arrivals: Map<string, number>, failures: number): FlowStats {
  const latencies: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  let lastAnswer = -Infinity;
  for (const { key, sentAt, answeredAt } of sent) {
    first = Math.min(first, sentAt);
    lastAnswer = Math.max(lastAnswer, answeredAt);
    const at = arrivals.get(key);
    if (at === undefined) continue;
    latencies.push(Math.max(0, at - sentAt));
    last = Math.max(last, at);
  }
  latencies.sort((a, b) => a - b);
  const windowMs = last - first;
  return {
    messages: latencies.length,
    perSecond: windowMs > 0 ? (latencies.length * 1000) / windowMs : 0,
    acceptedPerSecond: lastAnswer > first ? (sent.length * 1000) / (lastAnswer - first) : 0,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    missing: sent.length - latencies.length,
    failures,
  };
}

/** Polls `count()` until it reaches `target` or `timeoutMs` passes; answers the last count. */
export async function waitForCount(count: () => Promise<number>, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await count();
    if (now >= target || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface WhatsappInbox {
  id: string;
  phoneNumberId: string;
  appSecret: string;
}

/** A WhatsApp Cloud API webhook with one text message, signed as Meta signs it. */
export function whatsappHook(inbox: WhatsappInbox, from: string, text: string): { wamid: string; body: string; signature: string } {
  const wamid = `wamid.${randomBytes(24).toString('base64url')}`;
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: inbox.phoneNumberId },
              contacts: [{ profile: { name: `Customer ${from}` }, wa_id: from }],
              messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
            },
          },
        ],
      },
    ],
  });
  return { wamid, body, signature: `sha256=${createHmac('sha256', inbox.appSecret).update(body).digest('hex')}` };
}

/** Posts one signed WhatsApp webhook to Ferry's hook for the inbox; answers the message's wamid, or throws unless 200. */
export async function postWhatsappHook(agent: http.Agent, apiUrl: string, inbox: WhatsappInbox, from: string, text: string): Promise<string> {
  const { wamid, body, signature } = whatsappHook(inbox, from, text);
  const answer = await request(agent, `${apiUrl}/hooks/whatsapp/${inbox.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
  if (answer.status !== 200) throw new Error(`hook answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  return wamid;
}
