import type { Server } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { errorCodes, type FastifyRequest } from 'fastify';

/** The provider hooks' path prefix: their bodies are kept as bytes, whatever their type. */
export const HOOKS_PREFIX = '/hooks/';

export type RawBodyRequest = FastifyRequest & { rawBody?: Buffer };

type Done = (error: Error | null, body?: unknown) => void;

const KEPT_AS_BYTES_FOR_HOOKS = ['text/xml', 'application/xml', 'multipart/form-data'];

function isHook(request: FastifyRequest): boolean {
  return request.url.startsWith(HOOKS_PREFIX);
}

function keep(request: FastifyRequest, body: Buffer, done: Done): void {
  (request as RawBodyRequest).rawBody = body;
  done(null, body);
}

/**
 * Provider hooks are verified on the exact bytes the provider signed, so on /hooks/ every body is kept
 * as a Buffer (request.rawBody), whatever its content type, and nothing parses it before the adapter
 * has checked its signature: a tampered or garbled body answers 401, not a JSON error. Everywhere
 * else nothing changes: /v1 parses JSON (and url-encoded forms, which Nest registers with rawBody) and
 * answers 415 to any other type. Call before app.init() (Nest registers its own parsers then, unless
 * one is registered already). A multipart plugin (@fastify/multipart) cannot be registered beside this.
 */
export function registerHookBodyParsers(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const json = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.useBodyParser<Server>('application/json', {}, (request, body, done) => {
    if (isHook(request)) done(null, body);
    else json(request, body.toString('utf8'), done);
  });
  // Registered on Fastify directly, not through Nest: a catch-all known to Nest would stop it from
  // registering its url-encoded parser for /v1.
  const bytesForHooksOnly = (request: FastifyRequest, body: Buffer, done: Done): void => {
    if (isHook(request)) keep(request, body, done);
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type'] ?? ''));
  };
  fastify.addContentTypeParser(KEPT_AS_BYTES_FOR_HOOKS, { parseAs: 'buffer' }, bytesForHooksOnly);
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, bytesForHooksOnly);
  // Fastify parses text/plain as a string by default; /v1 keeps that.
  fastify.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done: Done) => {
    if (isHook(request)) keep(request, body, done);
    else done(null, body.toString('utf8'));
  });
}
