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
  | 'invite_invalid'
  | 'device_removed'
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
  | 'insufficient_storage'
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

/**
 * The caller was let in, then lost access before the request was done (its account disabled,
 * its token revoked or expired, its session ended): an upload's end or a long poll refused.
 */
export class AccessEndedError extends UnauthorizedError {
  constructor() {
    super('Your access ended while this request was in progress; sign in again.');
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You may not do this.') {
    super(403, 'forbidden', message);
  }
}

/**
 * An event's invite that is not (or no longer) its invite: the organiser replaced it, or it was
 * mistyped. Its own code, so that the web app says so instead of offering to join.
 */
export class InviteRefusedError extends AppError {
  constructor(message: string) {
    super(403, 'invite_invalid', message);
  }
}

/** A device (`mosaic sync`) its owner or an admin removed from its folder: refused for good. */
export class DeviceRemovedError extends AppError {
  constructor(folder: string) {
    super(
      403,
      'device_removed',
      `This device was removed from the folder "${folder}"; it syncs no more. To sync this ` +
        'directory again as a new device, delete DIR/.mosaic and run mosaic sync.',
    );
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

/**
 * A file that starts like a JPEG, PNG, WebP, GIF, AVIF or HEIC but cannot be read (cut short,
 * corrupt): still a 415, but said so, since "not an image" reads as nonsense for a camera's
 * file.
 */
export class DamagedImageError extends NotAnImageError {
  constructor() {
    super('This file is damaged or is not a picture Mosaic can read.');
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

/**
 * A write refused for lack of space: not the request's fault and not a bug (507, saying so;
 * it was an "Internal error." that told the person, or the peer pushing to this node, nothing).
 */
export class InsufficientStorageError extends AppError {
  constructor(options?: { cause?: unknown }) {
    super(
      507,
      'insufficient_storage',
      'This node is out of storage space. Try again once space is freed.',
      options,
    );
  }
}

/**
 * The file system's ENOSPC (or a quota's EDQUOT), SQLite's SQLITE_FULL (which also ends the
 * transaction: nothing of it stays) and PostgreSQL's `disk_full` (53100).
 */
const OUT_OF_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);

/** `error` as an InsufficientStorageError when it, or an error that caused it, is one of those. */
export function asOutOfSpace(error: unknown): InsufficientStorageError | null {
  if (error instanceof InsufficientStorageError) return error;
  for (let e: unknown = error, depth = 0; e instanceof Object && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && OUT_OF_SPACE_CODES.has(code)) {
      return new InsufficientStorageError({ cause: error });
    }
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
