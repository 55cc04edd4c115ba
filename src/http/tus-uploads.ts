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
 * - Just before the picture is committed its caller is asked for again (the request's token or
 *   session read again): one whose access ended while the bytes were arriving gets 401 and no
 *   picture; the upload stays, its account's, for a sign-in to finish or the sweep to remove.
 * - If that fails for a while (the database or the store out of reach), the upload stays whole
 *   and the next HEAD makes the picture before it answers: a tus client that finds the whole
 *   file there takes the upload as done (tus-js-client does), so the picture must exist by then.
 * - @tus/server and the area's store are loaded at the first tus request (or the first sweep
 *   that may find partial uploads), not at the node's start: most nodes never see one.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Locker, Server, Upload } from '@tus/server';
import type { Logger } from 'pino';
import type { AccessCheck, Principal } from '../accounts/principal.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { AppError, asOutOfSpace, UnauthorizedError } from '../core/errors.js';
import { isStoreOutage } from '../core/network-errors.js';
import type { PictureService } from '../pictures/picture.service.js';
import { PictureCreateFields } from './schemas.js';
import type { TusAreaSpot, TusArea } from './tus-area.js';
import { inErrorShape, TusRefusal, tusError } from './tus-errors.js';

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

/** An upload id as `namingFunction` makes them: the owner's tag, then 128 random bits (hex). */
const UPLOAD_ID = /^[0-9a-f]{48}$/;

/**
 * Whether `id` is an upload id of `username`'s: exactly one (no `/`, nothing after it), so that
 * no reading of a URL that passes this check names another account's upload.
 */
export function ownsUpload(id: string, username: string): boolean {
  return UPLOAD_ID.test(id) && id.startsWith(ownerTag(username));
}

/** Who sends a tus request: its signed-in account, and how to ask whether it still may. */
export interface TusCaller {
  readonly principal: Principal;
  readonly stillAllowed: AccessCheck;
}

/** The picture a finished upload became. */
interface Stored {
  readonly id: string;
  readonly created: boolean;
  /** The upload's length in bytes. */
  readonly size: number;
}

const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' };

const pictureHeaders = (stored: Stored) => ({
  'Mosaic-Picture-Id': stored.id,
  'Mosaic-Picture-Created': String(stored.created),
});

/** What the tus server is made of, at the first use. */
interface TusParts {
  readonly server: Server;
  readonly area: TusArea;
  /** The lock of an upload: tus's in one process, the site's lease across processes. */
  readonly locker: Locker;
}

export class TusUploads {
  /** The tus server and its file store, made at the first use (see the file's comment). */
  private parts: Promise<TusParts> | undefined;
  /** The caller of each request being handled (set by `handle`). */
  private readonly callers = new WeakMap<object, TusCaller>();

  constructor(private readonly deps: TusUploadsDeps) {}

  private load(): Promise<TusParts> {
    this.parts ??= this.make().catch((error: unknown) => {
      this.parts = undefined;
      throw error;
    });
    return this.parts;
  }

  private async make(): Promise<TusParts> {
    const [{ Server, MemoryLocker }, area] = await Promise.all([
      import('@tus/server'),
      this.deps.area.open(),
    ]);
    const { deps } = this;
    type TusRequest = { runtime?: { node?: { req?: object } | undefined } | undefined };
    const callerOf = (req: TusRequest) => {
      const raw = req.runtime?.node?.req;
      const caller = raw ? this.callers.get(raw) : undefined;
      if (!caller) throw tusError(401, 'unauthorized', 'Please sign in.');
      return caller;
    };
    const principalOf = (req: TusRequest) => callerOf(req).principal;
    const locker = area.locker ?? new MemoryLocker();
    const parts: TusParts = {
      area,
      locker,
      server: new Server({
        path: TUS_PATH,
        datastore: area.datastore,
        locker,
        maxSize: deps.maxUploadBytes,
        relativeLocation: true,
        // Same origin only (the web app); no Access-Control-Allow-Origin at all.
        allowedOrigins: [],
        disableTerminationForFinishedUploads: true,
        namingFunction: (req) =>
          `${ownerTag(principalOf(req).username)}${randomBytes(16).toString('hex')}`,
        // The upload a request names as the tus server reads it (the URL's last segment, its
        // query included), checked again here: the route checks Fastify's reading of the path,
        // and the two differ (`…/tus/<mine>/<theirs>`, `…/tus/<mine>?a=/<theirs>`). Another
        // account's upload is "not found", as at the route.
        getFileIdFromRequest: (req, lastPath) =>
          lastPath !== undefined && ownsUpload(lastPath, principalOf(req).username)
            ? lastPath
            : undefined,
        onUploadCreate: async (_req, upload) => {
          fieldsOf(upload); // refuses bad metadata before any byte is sent
          return {};
        },
        onUploadFinish: async (req, upload) => {
          const stored = await this.settle(parts, callerOf(req), upload.id);
          if (stored === null) {
            // Gone meanwhile: another request (a HEAD) made its picture, or the store lost its
            // bytes. Not a 204, which says the picture is there: a tus client asks again (409),
            // is told 404 and starts over (the same bytes are the same picture).
            throw tusError(409, 'conflict', 'This upload is gone; ask for its offset again.');
          }
          return { status_code: 204, headers: pictureHeaders(stored) };
        },
        // The protocol's own refusals (a wrong offset, an upload gone) in the error shape.
        onResponseError: (_req, error) => this.answerOf(error),
      }),
    };
    return parts;
  }

  /** The error shape of a failed request; a 500's cause is logged, not told. */
  private answerOf(error: unknown): { status_code: number; body: string } {
    const mapped = inErrorShape(error, this.deps.maxUploadBytes);
    if (mapped.status_code === 500) this.deps.log.error({ err: error }, 'tus request failed');
    return mapped;
  }

  /**
   * Hands a request (already authenticated; `id` the upload in its URL, if any) to the tus
   * server. A HEAD of an upload whose bytes have all arrived first makes its picture, if its
   * last PATCH could not (see `settle`): a tus client that finds the whole file there takes
   * the upload as done, so it must be.
   */
  async handle(
    caller: TusCaller,
    req: IncomingMessage,
    res: ServerResponse,
    id?: string,
  ): Promise<void> {
    this.callers.set(req, caller);
    const parts = await this.load();
    if (req.method === 'HEAD' && id !== undefined && id !== '') {
      let stored: Stored | null;
      try {
        stored = await this.settle(parts, caller, id);
      } catch (error) {
        const { status_code: status, body } = this.answerOf(error);
        res.writeHead(status, { ...TUS_HEADERS, 'Content-Type': 'application/json' });
        res.end(body);
        return;
      }
      if (stored !== null) {
        res.writeHead(200, {
          ...TUS_HEADERS,
          'Cache-Control': 'no-store',
          'Upload-Offset': String(stored.size),
          'Upload-Length': String(stored.size),
          ...pictureHeaders(stored),
        });
        res.end();
        return;
      }
    }
    await parts.server.handle(req, res);
  }

  /**
   * Makes the picture of upload `id` once all its bytes have arrived, then removes the upload;
   * null when it is not whole yet, or gone. Under the upload's lock, so that the last PATCH
   * and a HEAD that both find it whole make it once between them.
   *
   * A refusal (not an image, too many pixels, bad metadata) cannot be fixed by sending again:
   * the upload goes. A failure for a while (the database or the store out of reach, no space)
   * keeps it whole: the client's next HEAD finishes it (tus clients ask the offset after a
   * failed PATCH, and take an upload whose offset is its length as done).
   */
  private async settle(parts: TusParts, caller: TusCaller, id: string): Promise<Stored | null> {
    const { area, locker } = parts;
    const lock = locker.newLock(id);
    // The one who asks to release it waits: a picture is made whole or not at all.
    await lock.lock(new AbortController().signal, () => undefined);
    try {
      const upload = await area.datastore.getUpload(id).catch((error: unknown) => {
        // 404: no such upload; 410: its metadata without its bytes (file store).
        const status = (error as { status_code?: unknown }).status_code;
        if (status === 404 || status === 410) return null;
        throw error;
      });
      if (upload === null || upload.size === undefined || upload.offset !== upload.size) {
        return null;
      }
      const bytes = await area.read(id);
      if (bytes === null) {
        // Made a picture (or refused) before and its removal cut short, or the store lost the
        // bytes in a crash: either way there is nothing to make; the client starts over.
        this.deps.log.warn({ upload: id }, 'tus upload whole but its bytes are gone: removed');
        await area.remove(id);
        return null;
      }
      const stored = await this.store(area, caller, upload, bytes);
      await area.remove(id);
      return stored;
    } finally {
      await lock.unlock();
    }
  }

  /** The picture of a whole upload (see `settle`). */
  private async store(
    area: TusArea,
    caller: TusCaller,
    upload: Upload,
    bytes: Readable,
  ): Promise<Stored> {
    const { blobs, pictures, maxUploadBytes } = this.deps;
    try {
      const fields = fieldsOf(upload);
      const staged = await blobs.stage(bytes, maxUploadBytes);
      const { principal, stillAllowed } = caller;
      const { picture, created } = await pictures.upload(principal, staged, fields, stillAllowed);
      this.deps.onFinished?.(created, picture.size);
      return { id: picture.id, created, size: upload.offset };
    } catch (error) {
      bytes.destroy(); // not read to the end (a refusal before it, or a failure while reading)
      // The upload itself refused: sending it again cannot help. Its caller refused (access
      // ended meanwhile) is not the upload's fault: it stays, and a sign-in finishes it.
      const refused =
        error instanceof TusRefusal ||
        (error instanceof AppError && error.status < 500 && !(error instanceof UnauthorizedError));
      if (refused) await area.remove(upload.id);
      if (error instanceof AppError) throw tusError(error.status, error.code, error.message);
      if (error instanceof TusRefusal) throw error;
      const noSpace = asOutOfSpace(error);
      if (noSpace) throw tusError(noSpace.status, noSpace.code, noSpace.message);
      if (isStoreOutage(error)) {
        throw tusError(
          503,
          'unavailable',
          'The object store is not answering right now; the upload finishes when it is back.',
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
