/**
 * Named failures. Services throw these; the HTTP layer turns them into
 * `{"error": {"code", "message"}}` in one place (src/http/error-handler.ts).
 */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'malformed_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'stale_version'
  | 'already_voted'
  | 'not_voting'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_image'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, code: ErrorCode = 'bad_request') {
    super(400, code, message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Sign in or send a valid API token.') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You may not do this.') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, 'not_found', `${what} not found.`);
  }
}

export class ConflictError extends AppError {
  constructor(
    message: string,
    code: 'conflict' | 'stale_version' | 'already_voted' | 'not_voting' = 'conflict',
  ) {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `The upload is larger than the limit of ${limitBytes} bytes.`);
  }
}

export class NotAnImageError extends AppError {
  constructor(
    message = 'The file is not an image Mosaic can read (JPEG, PNG, WebP, GIF, AVIF, HEIC).',
  ) {
    super(415, 'unsupported_media_type', message);
  }
}

export class InvalidImageError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(422, 'invalid_image', message, { cause });
  }
}

/** Too many tries: wait `retryAfterSeconds` (sent as Retry-After). */
export class TooManyRequestsError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message = `Too many failed sign-ins. Try again in ${retryAfterSeconds} s.`,
  ) {
    super(429, 'rate_limited', message);
  }
}

/** Something the request needs is not reachable now; the same request may work later. */
export class UnavailableError extends AppError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}
