/**
 * The one place where failures become HTTP responses:
 * `{"error": {"code": "...", "message": "..."}}`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../core/errors.js';

export interface NotFoundFallback {
  /** Whether this unmatched request is for the fallback (e.g. a web app page) and not a 404. */
  readonly matches: (request: FastifyRequest) => boolean;
  readonly send: (reply: FastifyReply) => FastifyReply;
}

export function installErrorHandler(app: FastifyInstance, fallback?: NotFoundFallback): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message } = describe(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code, status }, message);
    // A route may have set another type (an image) before failing: the error body is JSON.
    return reply
      .status(status)
      .type('application/json; charset=utf-8')
      .send({ error: { code, message } });
  });

  app.setNotFoundHandler((request, reply) => {
    if (fallback?.matches(request)) return fallback.send(reply);
    return reply.status(404).send({
      error: { code: 'not_found', message: `No route ${request.method} ${request.url}.` },
    });
  });
}

function describe(error: FastifyError): { status: number; code: string; message: string } {
  if (error instanceof AppError)
    return { status: error.status, code: error.code, message: error.message };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues: readonly { instancePath?: string; message?: string }[] = error.validation;
    const details = issues
      .map((v) => {
        const where = v.instancePath ? v.instancePath.replace(/^\//, '').replaceAll('/', '.') : '';
        return where ? `${where}: ${v.message ?? 'invalid'}` : (v.message ?? 'invalid');
      })
      .join('; ');
    return {
      status: 400,
      code: 'validation_failed',
      message: `Invalid ${error.validationContext ?? 'request'}: ${details}`,
    };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'malformed_json',
        message: 'The request body is not valid JSON.',
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: error.message };
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large', message: error.message };
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return {
        status: 415,
        code: 'unsupported_media_type',
        message: 'Send the upload as multipart/form-data.',
      };
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { status: 400, code: 'bad_request', message: error.message };
    default:
      break;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: 'bad_request', message: error.message };
  return { status: 500, code: 'internal', message: 'Internal error.' };
}
