import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('worker concurrency', () => {
  const concurrency = (env: Record<string, string>) => loadConfig({}, env).worker.concurrency;

  it('runs many sends at once by default (they wait on providers and endpoints), the other queues at WORKER_CONCURRENCY', () => {
    expect(concurrency({})).toEqual({ inbound: 16, outbound: 128, status: 16, events: 128, webhooks: 128, billing: 4 });
  });

  it('scales the sends with WORKER_CONCURRENCY, and takes each queue\'s own setting over it', () => {
    expect(concurrency({ WORKER_CONCURRENCY: '2' })).toMatchObject({ inbound: 2, outbound: 16, events: 16, webhooks: 16, billing: 2 });
    expect(concurrency({ WORKER_CONCURRENCY: '500' })).toMatchObject({ outbound: 1000, events: 1000, webhooks: 1000 });
    expect(concurrency({ WORKER_CONCURRENCY: '2', WORKER_CONCURRENCY_OUTBOUND: '3', WORKER_CONCURRENCY_WEBHOOKS: '5' })).toMatchObject({ inbound: 2, outbound: 3, webhooks: 5 });
  });

  it('refuses a setting out of range', () => {
    expect(() => concurrency({ WORKER_CONCURRENCY_OUTBOUND: '0' })).toThrow(ConfigError);
    expect(() => concurrency({ WORKER_CONCURRENCY: 'many' })).toThrow(ConfigError);
  });
});
