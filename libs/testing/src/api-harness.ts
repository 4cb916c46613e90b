import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FerryConfig } from '#config';
import { createApi } from '../../../apps/api/src/bootstrap.js';
import { testConfig } from './test-database.js';

// `any` by default in this test helper: each test asserts the shape it expects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** The real API over real HTTP on an ephemeral port, against this worker's database and Redis. */
export class ApiHarness {
  private constructor(
    readonly app: NestFastifyApplication,
    readonly baseUrl: string,
    readonly config: FerryConfig,
  ) {}

  static async start(overrides: Record<string, string> = {}): Promise<ApiHarness> {
    const config = await testConfig(overrides);
    const app = await createApi(config);
    // An ephemeral port unless the test fixed one (its PUBLIC_URL must then name that port).
    await app.listen({ port: overrides['PORT'] ? config.http.port : 0, host: '127.0.0.1' }).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return new ApiHarness(app, `http://127.0.0.1:${port}`, config);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see ApiResponse
  async request<T = any>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    } else if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
