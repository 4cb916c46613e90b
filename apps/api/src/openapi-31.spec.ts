import { describe, expect, it } from 'vitest';
import type { OpenAPIObject } from '@nestjs/swagger';
import { toOpenApi31 } from './openapi-31.js';

const doc = (schemas: Record<string, unknown>): OpenAPIObject =>
  ({ openapi: '3.0.0', info: { title: 't', version: '1' }, paths: {}, components: { schemas } }) as OpenAPIObject;

describe('toOpenApi31', () => {
  it('turns nullable into JSON Schema: a type list, null in an enum, anyOf for a $ref or a composition', () => {
    const out = toOpenApi31(
      doc({
        Thing: {
          type: 'object',
          properties: {
            name: { type: 'string', nullable: true, example: null },
            channel: { type: 'string', enum: ['sms', 'email'], nullable: true },
            preview: { type: 'object', nullable: true, allOf: [{ $ref: '#/components/schemas/Preview' }], description: 'last' },
            plain: { type: 'integer', nullable: false },
            sample: { type: 'object', example: { nullable: true } },
          },
        },
      }),
    );
    expect(out.openapi).toBe('3.1.0');
    expect((out.components!.schemas!['Thing'] as { properties: Record<string, unknown> }).properties).toEqual({
      name: { type: ['string', 'null'], example: null },
      channel: { type: ['string', 'null'], enum: ['sms', 'email', null] },
      preview: { description: 'last', anyOf: [{ type: 'object', allOf: [{ $ref: '#/components/schemas/Preview' }] }, { type: 'null' }] },
      plain: { type: 'integer' },
      // An example is a value: a field that happens to be called nullable is left alone.
      sample: { type: 'object', example: { nullable: true } },
    });
  });
});
