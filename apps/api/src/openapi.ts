import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { addEventCatalogue } from './events/event-schemas.js';
import { toOpenApi31 } from './openapi-31.js';

export const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri', example: 'https://docs.ferry.dev/errors/conversation.not_found' },
    title: { type: 'string', example: 'Not Found' },
    status: { type: 'integer', example: 404 },
    detail: { type: 'string', example: 'Conversation not found' },
    code: { type: 'string', example: 'conversation.not_found' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

/** Builds the OpenAPI 3.1 document from the controllers' decorators, with the event catalogue in `webhooks`. */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Ferry API')
    .setDescription(
      'One shared inbox for customers on every messaging channel. Authenticate with `Authorization: Bearer <token>`: ' +
        'a user access token from /v1/auth/login or an API key (`fry_...`). Errors are RFC 9457 problem+json with a `code`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'User access token or API key (fry_...)' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` });
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, Problem: PROBLEM_SCHEMA as never };
  addProblemResponses(document);
  const published = toOpenApi31(document);
  addEventCatalogue(published);
  return published;
}

const PROBLEM_RESPONSE = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * Every operation documents the errors every operation can answer, so no controller has to repeat
 * them: bad input, and for authenticated routes 401, 403 and 429; 404 where the path has an id.
 */
function addProblemResponses(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const responses = operation.responses;
      const secured = (operation.security?.length ?? 0) > 0;
      const add = (status: string, description: string) => {
        responses[status] ??= PROBLEM_RESPONSE(description);
      };
      add('400', 'Invalid request (problem+json with the bad fields in `errors`)');
      if (secured) {
        add('401', 'Missing, expired or revoked token');
        add('403', 'The caller\'s role does not allow this');
        add('429', 'Rate limit exceeded (see Retry-After)');
      }
      if (path.includes('{')) add('404', 'Not found in this workspace');
      if (operation.parameters?.some((p) => 'name' in p && p.name === 'Idempotency-Key')) {
        add('409', 'A request with this Idempotency-Key is still in progress');
        add('422', 'The Idempotency-Key was used with a different request');
      }
      add('500', 'Unexpected error');
    }
  }
}
