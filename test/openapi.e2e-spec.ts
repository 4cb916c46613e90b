import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { ApiHarness } from '#testing';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Routes anyone may call: sign-up and login, invitation acceptance, and provider webhooks (signed by the provider). */
const PUBLIC = [/^\/v1\/auth\/(signup|login|refresh)$/, /^\/v1\/invitations\/\{[^}]+\}\/accept$/, /^\/hooks\//];

interface Operation {
  id: string;
  path: string;
  operation: OperationObject;
}

/**
 * The OpenAPI document is the contract integrators and the dashboard's generated client rely on.
 * These checks hold for every route, including the ones added after this file was written.
 */
describe('OpenAPI document', () => {
  let api: ApiHarness;
  let document: OpenAPIObject;
  let operations: Operation[];

  beforeAll(async () => {
    api = await ApiHarness.start();
    const response = await api.request('GET', '/openapi.json');
    expect(response.status).toBe(200);
    document = response.body;
    // validate() dereferences in place, so it gets a copy; the checks below read the resolved copy.
    const resolved = (await SwaggerParser.validate(structuredClone(document) as never)) as unknown as OpenAPIObject;
    operations = Object.entries(resolved.paths).flatMap(([path, item]) =>
      METHODS.flatMap((method) => {
        const operation = item?.[method];
        return operation ? [{ id: `${method.toUpperCase()} ${path}`, path, operation }] : [];
      }),
    );
  });
  afterAll(async () => api?.close());

  it('is a valid OpenAPI 3 document with operations', () => {
    expect(document.openapi).toMatch(/^3\./);
    expect(operations.length).toBeGreaterThan(0);
  });

  it('declares the bearer security scheme', () => {
    expect(document.components?.securitySchemes?.['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('gives every operation a summary and tags', () => {
    const lacking = operations.filter(({ operation }) => !operation.summary?.trim() || !operation.tags?.length);
    expect(lacking.map((o) => o.id)).toEqual([]);
  });

  it('gives every operation a success response and a problem+json error response', () => {
    const noSuccess = operations.filter(({ operation }) => !Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)));
    expect(noSuccess.map((o) => o.id)).toEqual([]);
    const noProblem = operations.filter(({ operation }) =>
      !Object.entries(operation.responses).some(
        ([status, response]) => /^4\d\d$/.test(status) && response !== undefined && 'content' in response && response.content?.['application/problem+json'] !== undefined,
      ),
    );
    expect(noProblem.map((o) => o.id)).toEqual([]);
  });

  it('requires the bearer token on every operation except the public ones', () => {
    const unsecured = operations.filter(
      ({ path, operation }) =>
        !PUBLIC.some((pattern) => pattern.test(path)) && !operation.security?.some((requirement) => 'bearer' in requirement),
    );
    expect(unsecured.map((o) => o.id)).toEqual([]);
  });

  it('serves Swagger UI at /docs', async () => {
    const ui = await api.request<string>('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    expect(ui.body).toContain('swagger-ui');
  });
});
