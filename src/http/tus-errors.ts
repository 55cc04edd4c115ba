/**
 * A resumable upload's failures in the API's error shape (`{"error": {"code", "message"}}`):
 * tus's own refusals, the data store's failures, and ours.
 */
import { AppError, asOutOfSpace, PayloadTooLargeError, UnavailableError } from '../core/errors.js';
import { isStoreOutage } from '../core/network-errors.js';

/**
 * A refusal from a hook: @tus/server answers `status_code` with `body` (here the error shape)
 * when a hook throws an object that has them.
 */
export class TusRefusal extends Error {
  readonly body: string;
  constructor(
    readonly status_code: number,
    code: string,
    message: string,
  ) {
    super(message);
    this.body = JSON.stringify({ error: { code, message } });
  }
}

export function tusError(status: number, code: string, message: string): TusRefusal {
  return new TusRefusal(status, code, message);
}

/**
 * tus's answer when a request waited too long for an upload's lock (another request was still
 * writing or finishing it): a 500 in tus, but only a busy upload, to try again.
 */
const LOCK_TIMEOUT_BODY = 'failed to acquire lock before timeout';

const CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

const shaped = (error: { status: number; code: string; message: string }) => ({
  status_code: error.status,
  body: JSON.stringify({ error: { code: error.code, message: error.message } }),
});

/** A tus error (`{status_code, body}` with a text body) as `{"error": {"code","message"}}`. */
export function inErrorShape(
  error: unknown,
  maxUploadBytes: number,
): { status_code: number; body: string } {
  // The data store's own failure to write a chunk (no space left) reaches here as it was.
  const noSpace = asOutOfSpace(error);
  if (noSpace) return shaped(noSpace);
  // Ours (the lock's database out of reach is an UnavailableError), as the API answers it.
  if (error instanceof AppError) return shaped(error);
  const { status_code: status, body } = (error ?? {}) as { status_code?: unknown; body?: unknown };
  if (body === LOCK_TIMEOUT_BODY) {
    const busy = new UnavailableError(
      'Another request is still writing or finishing this upload; ask its offset again shortly.',
    );
    return shaped(busy);
  }
  // The bucket out of reach or failing, met by the tus data store's own S3 client.
  if (isStoreOutage(error)) {
    const outage = new UnavailableError(
      'The object store is not answering right now; the upload resumes from where it stopped.',
    );
    return shaped(outage);
  }
  const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
  const text = typeof body === 'string' ? body.trim() : '';
  if (text.startsWith('{')) return { status_code: code, body: text };
  if (code === 413) {
    // The same words as a multipart upload's refusal (the web app reads the limit from them).
    return shaped(new PayloadTooLargeError(maxUploadBytes));
  }
  const message = code >= 500 || text === '' ? 'The upload failed; try again.' : `${text}.`;
  return {
    status_code: code,
    body: JSON.stringify({
      error: { code: CODES[code] ?? (code >= 500 ? 'internal' : 'bad_request'), message },
    }),
  };
}
