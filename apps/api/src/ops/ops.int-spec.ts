import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness } from '#testing';

describe('operations endpoints', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start();
  });
  afterAll(async () => api?.close());

  it('answers liveness and readiness with database and Redis checks', async () => {
    expect((await api.request('GET', '/health/live')).body).toEqual({ status: 'ok' });
    const ready = await api.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });

  it('exposes Prometheus metrics with the HTTP latency histogram by route and queue depths', async () => {
    await api.request('GET', '/health/live');
    const metrics = await api.request<string>('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('ferry_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health/live",status="200"}');
    expect(metrics.body).toMatch(/ferry_queue_depth\{queue="outbound"\} \d+/);
  });

  it('answers unknown routes with problem+json and echoes the request id', async () => {
    const response = await api.request('GET', '/nope', { headers: { 'x-request-id': 'req-123' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.headers.get('x-request-id')).toBe('req-123');
    expect(response.body).toMatchObject({ status: 404, code: 'route.not_found' });
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await api.request('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const ui = await api.request<string>('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.body).toContain('swagger-ui');
  });
});
