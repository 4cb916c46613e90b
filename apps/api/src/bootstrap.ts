import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FerryConfig } from '#config';
import { AppModule } from './app.module.js';
import { buildOpenApi } from './openapi.js';
import { createLogger, PinoNestLogger } from '#logging';
import { registerHookBodyParsers } from './hooks/hook-body-parsers.js';
import { Metrics } from './ops/metrics.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Builds the API application (not listening yet). Tests and main() share this one path. */
export async function createApi(config: FerryConfig): Promise<NestFastifyApplication> {
  const logger = createLogger(config.log.level, 'ferry-api');
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: true,
    requestIdHeader: false,
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: new PinoNestLogger(logger),
    bufferLogs: false,
    // Provider hooks verify signatures on the raw bytes (request.rawBody).
    rawBody: true,
  });
  registerHookBodyParsers(app);
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(Metrics);
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 500) metrics.httpErrors.inc({ route });
  });
  app.enableShutdownHooks();
  const document = buildOpenApi(app);
  fastify.get('/openapi.json', { logLevel: 'warn' }, async () => document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', raw: false });
  await app.init();
  return app;
}
