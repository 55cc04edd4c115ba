/**
 * The one place where failures become HTTP responses:
 * `{"error": {"code": "...", "message": "..."}}`.
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, asOutOfSpace, UnavailableError } from '../core/errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

// Required, not imported: an ES import of node:http builds its whole namespace, and Node 24's
// lazy `http.WebSocket` getter then loads Node's bundled undici (~3 MB of heap) at start.
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface NotFoundFallback {
  /** Whether this unmatched request is for the fallback (e.g. a web app page) and not a 404. */
  readonly matches: (request: FastifyRequest) => boolean;
  readonly send: (reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;
}

export function installErrorHandler(app: FastifyInstance, fallback?: NotFoundFallback): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message } = describe(error);
    if (error instanceof UnavailableError) {
      // An outage (the database or the store not answering) fails every request alike: the
      // cause in one line, not the same stack trace per request.
      request.log.warn({ code, status, cause: causeOf(error) }, message);
    } else if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code, status }, message);
    // A route may have set another type (an image) before failing: the error body is JSON.
    return reply
      .status(status)
      .type('application/json; charset=utf-8')
      .send({ error: { code, message } });
  });

  app.setNotFoundHandler((request, reply) => {
    if (fallback?.matches(request)) return fallback.send(reply);
    // The URL is not echoed: the answer is the same for every path that matched nothing.
    return reply.status(404).send({
      error: { code: 'not_found', message: `No such route (${request.method}).` },
    });
  });
}

/**
 * Fastify's errors from before routing (a path that is not valid percent-encoding), in the
 * same shape. Pass as the `frameworkErrors` option of Fastify().
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  request.log.info({ code: error.code }, error.message);
  void reply
    .status(400)
    .headers(SECURITY_HEADERS)
    .send({ error: { code: 'bad_request', message: 'The URL is malformed.' } });
}

/**
 * Requests that are not valid HTTP (a wrong Content-Length, a header too large), answered on
 * the socket before Fastify sees a request, in the same shape. The `clientErrorHandler` option.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'bad_request', 'The request took too long.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'bad_request', 'The request headers are too large.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Busboy (the multipart parser) throws plain Errors for malformed input: no boundary, a
 * boundary it cannot use, a body that ends inside a part. They are the sender's mistake.
 */
const MALFORMED_MULTIPART = [
  /^Multipart: Boundary not found$/,
  /^The needle cannot /,
  /terminated early due to unexpected end of multipart data$/,
  /^Unexpected end of multipart data$/,
  /^Unsupported Content-Type\.$/,
];

export function isMalformedMultipart(error: Error): boolean {
  return (
    !('statusCode' in error) &&
    !('code' in error) &&
    MALFORMED_MULTIPART.some((pattern) => pattern.test(error.message))
  );
}

function describe(error: FastifyError): { status: number; code: string; message: string } {
  if (error instanceof AppError)
    return { status: error.status, code: error.code, message: error.message };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues: readonly { instancePath?: string; message?: string }[] = error.validation;
    return { status: 400, code: 'validation_failed', message: validationMessage(issues) };
  }
  if (isMalformedMultipart(error)) {
    return {
      status: 400,
      code: 'bad_request',
      message: `The multipart body is malformed: ${error.message}`,
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
  const noSpace = asOutOfSpace(error);
  if (noSpace) return { status: noSpace.status, code: noSpace.code, message: noSpace.message };
  const status = error.statusCode ?? 500;
  if (status === 403) return { status, code: 'forbidden', message: error.message };
  if (status === 404) return { status, code: 'not_found', message: error.message };
  if (status >= 400 && status < 500) return { status, code: 'bad_request', message: error.message };
  return { status: 500, code: 'internal', message: 'Internal error.' };
}

/**
 * What a person reads for a request that failed validation. Our schemas word their own
 * messages as sentences ("A title is required."): those are shown as they are. A generic
 * message from the validator names the field it is about.
 */
export function validationMessage(
  issues: readonly { instancePath?: string; message?: string }[],
): string {
  const sentences = issues.map((v) => {
    const message = v.message ?? 'Invalid value.';
    if (/^[A-Z].*[.!?]$/.test(message)) return message;
    const where = v.instancePath ? v.instancePath.replace(/^\//, '').replaceAll('/', '.') : '';
    return where
      ? `The field "${where}" is not valid: ${message}.`
      : `Invalid request: ${message}.`;
  });
  return [...new Set(sentences)].join(' ');
}

/** An error's cause in one line (`code: message`), or undefined. */
function causeOf(error: Error): string | undefined {
  const cause = error.cause;
  if (!(cause instanceof Error)) return undefined;
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' && !cause.message.includes(code)
    ? `${code}: ${cause.message}`
    : cause.message;
}
