/**
 * Resumable uploads through the tus protocol (tus.io, v1.0.0, with the creation, termination
 * and expiration extensions), by @tus/server with @tus/file-store: a phone that loses the
 * network half-way asks the node how much arrived (HEAD) and sends the rest (PATCH).
 *
 * - Partial uploads live in the tus area (tus-area.ts): files under `<data>/tus/`, or the
 *   bucket when the blobs are on S3 (so any process of a site can resume them); kept across
 *   restarts so an upload resumes after one too; one not finished within a day is swept.
 * - Every request is signed in (the app's auth hook, before this), and an upload belongs to
 *   the account that created it: its id starts with a tag of the account's name, and a request
 *   from another account for that id is answered 404, as if it did not exist.
 * - On completion the file takes the path of a multipart upload: streamed into the blob
 *   store's staging area (hashed on the way), probed, thumbnail, `picture.create`. The last
 *   PATCH answers 204 with `Mosaic-Picture-Id` and `Mosaic-Picture-Created` (false: these bytes
 *   were already a picture); a file that is not an image is refused with the error shape.
 * - @tus/server and the area's store are loaded at the first tus request (or the first sweep
 *   that may find partial uploads), not at the node's start: most nodes never see one.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Upload } from '@tus/server';
import type { Logger } from 'pino';
import type { Principal } from '../accounts/principal.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { AppError, asOutOfSpace, PayloadTooLargeError, UnavailableError } from '../core/errors.js';
import { isStoreOutage } from '../core/network-errors.js';
import type { PictureService } from '../pictures/picture.service.js';
import { PictureCreateFields } from './schemas.js';
import type { TusAreaSpot, TusArea } from './tus-area.js';

export const TUS_PATH = '/api/uploads/tus';
/** How long an unfinished upload is kept (give it to tusArea). */
export const TUS_EXPIRY_MS = 24 * 3600 * 1000;

export interface TusUploadsDeps {
  /** Where partial uploads live, opened at the first use. */
  readonly area: TusAreaSpot;
  readonly maxUploadBytes: number;
  readonly blobs: BlobStore;
  readonly pictures: PictureService;
  readonly log: Logger;
  /** Told of each finished upload (metrics). */
  readonly onFinished?: (created: boolean, size: number) => void;
}

/** The first 16 hex digits of SHA-256(username): the prefix of the account's upload ids. */
export function ownerTag(username: string): string {
  return createHash('sha256').update(username).digest('hex').slice(0, 16);
}

/** Whether the upload `id` (as in its URL) belongs to `username`. */
export function ownsUpload(id: string, username: string): boolean {
  return id.startsWith(ownerTag(username));
}

/**
 * A refusal from a hook: @tus/server answers `status_code` with `body` (here the error shape)
 * when a hook throws an object that has them.
 */
class TusRefusal extends Error {
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

function tusError(status: number, code: string, message: string): TusRefusal {
  return new TusRefusal(status, code, message);
}

export class TusUploads {
  /** The tus server and its file store, made at the first use (see the file's comment). */
  private parts: Promise<{ server: Server; area: TusArea }> | undefined;
  /** The signed-in account of each request being handled (set by `handle`). */
  private readonly principals = new WeakMap<object, Principal>();

  constructor(private readonly deps: TusUploadsDeps) {}

  private load(): Promise<{ server: Server; area: TusArea }> {
    this.parts ??= this.make().catch((error: unknown) => {
      this.parts = undefined;
      throw error;
    });
    return this.parts;
  }

  private async make(): Promise<{ server: Server; area: TusArea }> {
    const [{ Server }, area] = await Promise.all([import('@tus/server'), this.deps.area.open()]);
    const { deps } = this;
    type TusRequest = { runtime?: { node?: { req?: object } | undefined } | undefined };
    const principalOf = (req: TusRequest) => {
      const raw = req.runtime?.node?.req;
      const principal = raw ? this.principals.get(raw) : undefined;
      if (!principal) throw tusError(401, 'unauthorized', 'Please sign in.');
      return principal;
    };
    const server = new Server({
      path: TUS_PATH,
      datastore: area.datastore,
      ...(area.locker === undefined ? {} : { locker: area.locker }),
      maxSize: deps.maxUploadBytes,
      relativeLocation: true,
      // Same origin only (the web app); no Access-Control-Allow-Origin at all.
      allowedOrigins: [],
      disableTerminationForFinishedUploads: true,
      namingFunction: (req) =>
        `${ownerTag(principalOf(req).username)}${randomBytes(16).toString('hex')}`,
      onUploadCreate: async (_req, upload) => {
        fieldsOf(upload); // refuses bad metadata before any byte is sent
        return {};
      },
      onUploadFinish: async (req, upload) => this.finish(area, principalOf(req), upload),
      // The protocol's own refusals (a wrong offset, an upload gone) in the error shape.
      onResponseError: (_req, error) => {
        const mapped = inErrorShape(error, deps.maxUploadBytes);
        // What the client is not told (no internals in the answer) is for the operator.
        if (mapped.status_code === 500) deps.log.error({ err: error }, 'tus request failed');
        return mapped;
      },
    });
    return { server, area };
  }

  /** Hands a request (already authenticated) to the tus server. */
  async handle(principal: Principal, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.principals.set(req, principal);
    const { server } = await this.load();
    await server.handle(req, res);
  }

  private async finish(area: TusArea, principal: Principal, upload: Upload) {
    const { blobs, pictures, maxUploadBytes } = this.deps;
    try {
      const fields = fieldsOf(upload);
      const staged = await blobs.stage(await area.read(upload.id), maxUploadBytes);
      const { picture, created } = await pictures.upload(principal, staged, fields);
      this.deps.onFinished?.(created, picture.size);
      await area.remove(upload.id);
      return {
        status_code: 204,
        headers: { 'Mosaic-Picture-Id': picture.id, 'Mosaic-Picture-Created': String(created) },
      };
    } catch (error) {
      // A finished upload that is refused (not an image, too many pixels) cannot be fixed by
      // sending it again: its file goes now. One that failed for a while (the database or the
      // store out of reach) goes too: the client's HEAD then finds nothing and it starts over,
      // where an upload left whole would look finished to it (tus-js-client does not PATCH
      // again at the end). If the store cannot even remove it now, the sweep will, later.
      await area.remove(upload.id).catch((removal: unknown) => {
        this.deps.log.warn({ err: removal, upload: upload.id }, 'tus upload not removed yet');
      });
      if (error instanceof AppError) throw tusError(error.status, error.code, error.message);
      if (error instanceof TusRefusal) throw error;
      const noSpace = asOutOfSpace(error);
      if (noSpace) throw tusError(noSpace.status, noSpace.code, noSpace.message);
      if (isStoreOutage(error)) {
        throw tusError(
          503,
          'unavailable',
          'The object store is not answering right now; try again.',
        );
      }
      this.deps.log.error({ err: error, upload: upload.id }, 'tus upload could not be stored');
      throw tusError(500, 'internal', 'The upload could not be stored; try again.');
    }
  }

  /** Removes the partial uploads not finished within a day. */
  async sweep(): Promise<number> {
    // Nothing was ever uploaded here (no partial file): no need to load the tus modules.
    if (this.parts === undefined && !(await this.deps.area.mayHoldUploads())) return 0;
    const { area } = await this.load();
    return area.sweep();
  }
}

const CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** A tus error (`{status_code, body}` with a text body) as `{"error": {"code","message"}}`. */
export function inErrorShape(
  error: unknown,
  maxUploadBytes: number,
): { status_code: number; body: string } {
  // The data store's own failure to write a chunk (no space left) reaches here as it was.
  const noSpace = asOutOfSpace(error);
  if (noSpace) {
    return {
      status_code: noSpace.status,
      body: JSON.stringify({ error: { code: noSpace.code, message: noSpace.message } }),
    };
  }
  // Ours (the lock's database out of reach is an UnavailableError), as the API answers it.
  if (error instanceof AppError) {
    return {
      status_code: error.status,
      body: JSON.stringify({ error: { code: error.code, message: error.message } }),
    };
  }
  // The bucket out of reach or failing, met by the tus data store's own S3 client.
  if (isStoreOutage(error)) {
    const outage = new UnavailableError(
      'The object store is not answering right now; the upload resumes from where it stopped.',
    );
    return {
      status_code: outage.status,
      body: JSON.stringify({ error: { code: outage.code, message: outage.message } }),
    };
  }
  const { status_code: status, body } = (error ?? {}) as { status_code?: unknown; body?: unknown };
  const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
  const text = typeof body === 'string' ? body.trim() : '';
  if (text.startsWith('{')) return { status_code: code, body: text };
  if (code === 413) {
    // The same words as a multipart upload's refusal (the web app reads the limit from them).
    const tooLarge = new PayloadTooLargeError(maxUploadBytes);
    return {
      status_code: 413,
      body: JSON.stringify({ error: { code: tooLarge.code, message: tooLarge.message } }),
    };
  }
  const message = code >= 500 || text === '' ? 'The upload failed; try again.' : `${text}.`;
  return {
    status_code: code,
    body: JSON.stringify({
      error: { code: CODES[code] ?? (code >= 500 ? 'internal' : 'bad_request'), message },
    }),
  };
}

/** The picture's fields from the upload's metadata: `title` (else the file name), `category`, `desc`. */
function fieldsOf(upload: Upload): { title: string; category: string; desc: string } {
  const meta = upload.metadata ?? {};
  const filename = meta['filename'] ?? '';
  const raw = {
    title: meta['title'] ?? filename.replace(/\.[^.]*$/, ''),
    category: meta['category'] ?? '',
    desc: meta['desc'] ?? '',
  };
  const parsed = PictureCreateFields.safeParse(raw);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw tusError(400, 'validation_failed', `Invalid upload: ${message}`);
  }
  return parsed.data;
}
