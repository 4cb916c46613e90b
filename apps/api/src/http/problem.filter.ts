import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind, type FieldError } from '#domain';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  /** Extension members of one code (billing.limit_reached: `plan`, `upgradeTo`). */
  [extension: string]: unknown;
}

/**
 * The one exception filter: every error leaves as RFC 9457 problem+json with a stable `code`.
 * DomainErrors map by kind; framework errors (Fastify's body parser, unknown routes) get codes of
 * their own; anything else is a 500 whose details stay in the log.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const problem = this.toProblem(exception, request);
    if (exception instanceof DomainError && exception.details.retryAfterSeconds !== undefined) {
      void reply.header('Retry-After', String(exception.details.retryAfterSeconds));
    }
    void reply.status(problem.status).header('Content-Type', 'application/problem+json').send(problem);
  }

  toProblem(exception: unknown, request: FastifyRequest): Problem {
    if (exception instanceof DomainError) {
      const body = problem(STATUS[exception.kind], exception.code, exception.message, exception.details.errors);
      return exception.details.extensions ? { ...exception.details.extensions, ...body } : body;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Fastify's own errors (body parsing, limits) reach us wrapped, with the original as the cause.
      const cause = exception.cause as { code?: string } | undefined;
      if (typeof cause?.code === 'string') return problem(status, fastifyCode(cause.code, status), exception.message);
      if (status === 404) return problem(404, 'route.not_found', `No route ${request.method} ${request.url}`);
      return problem(status, `http.${status}`, exception.message);
    }
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
      return problem(fastifyError.statusCode, fastifyCode(fastifyError.code, fastifyError.statusCode), fastifyError.message ?? '');
    }
    this.logger.error({ err: exception, reqId: request.id }, 'Unhandled error');
    return problem(500, 'internal', 'Something went wrong on our side; the request id is in the logs');
  }
}

function problem(status: number, code: string, detail: string, errors?: FieldError[]): Problem {
  const body: Problem = { type: `https://docs.ferry.dev/errors/${code}`, title: TITLES[status] ?? 'Error', status, detail, code };
  if (errors && errors.length > 0) body.errors = errors;
  return body;
}

function fastifyCode(code: string | undefined, status: number): string {
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request.malformed_json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request.too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'request.unsupported_media_type';
    default:
      return status === 400 && code === undefined ? 'request.malformed_json' : `request.${status}`;
  }
}
