import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Multipart } from '@fastify/multipart';
import parseRange from 'range-parser';
import { z } from 'zod';
import type { StagedBlob, BlobStore } from '../../blobs/blob-store.js';
import type { Readable } from 'node:stream';
import { BadRequestError, NotFoundError, PayloadTooLargeError } from '../../core/errors.js';
import type { Thumbnails } from '../../pictures/images.js';
import type { PictureFactsService } from '../../pictures/picture-facts.service.js';
import type { PictureService } from '../../pictures/picture.service.js';
import { requirePrincipal, type StillSignedIn } from '../auth.js';
import type { Metrics } from '../metrics.js';
import {
  ErrorBody,
  Picture,
  PictureCreateFields,
  PictureIdParams,
  PictureList,
  PictureListQuery,
  PicturePatch,
  ThumbQuery,
} from '../schemas.js';
import { readPicturePage, type PageSource } from './picture-page.js';

export interface PictureRoutesDeps {
  readonly pictures: PictureService;
  readonly facts: PictureFactsService;
  readonly blobs: BlobStore;
  readonly thumbs: Thumbnails;
  readonly metrics: Metrics;
  readonly maxUploadBytes: number;
  /** Asked before an upload's picture is committed (its caller may have lost access meanwhile). */
  readonly stillSignedIn: StillSignedIn;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

export const pictureRoutes =
  (deps: PictureRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { pictures, facts, blobs, metrics } = deps;
    const source: PageSource = {
      pageJson: (query) => pictures.pageJson(query),
      list: (query) => pictures.list(query),
      timeline: (query) => facts.timeline(query),
    };

    app.post(
      '/api/pictures',
      {
        schema: {
          summary: 'Upload a picture',
          description:
            'multipart/form-data with one `file` and the fields `title` (required), `category`, `desc`. ' +
            'Answers 201 with the new picture, or 200 with the existing one when these bytes are already a picture. ' +
            "Bytes of another account's picture that was deleted are refused (403: its owner or an admin may bring it back), " +
            'as are those of one still arriving at this node (409).',
          consumes: ['multipart/form-data'],
          response: {
            200: Picture,
            201: Picture,
            409: ErrorBody,
            413: ErrorBody,
            415: ErrorBody,
            422: ErrorBody,
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const principal = requirePrincipal(request);
        const { staged, fields } = await readUpload(
          request.parts(),
          blobs,
          deps.maxUploadBytes,
        ).catch((error: unknown) => {
          metrics.uploads.inc({ result: 'rejected' });
          throw error;
        });
        try {
          const uploaded = await pictures.upload(principal, staged, fields, () =>
            deps.stillSignedIn(request),
          );
          const { picture, created } = uploaded;
          metrics.uploads.inc({ result: created ? 'created' : 'duplicate' });
          if (created) metrics.uploadBytes.inc(picture.size);
          return await reply
            .status(created ? 201 : 200)
            .send(
              uploaded.facts === null
                ? await facts.attachOne(picture)
                : { ...picture, ...uploaded.facts },
            );
        } catch (error) {
          metrics.uploads.inc({ result: 'rejected' });
          throw error;
        }
      },
    );

    app.get(
      '/api/pictures',
      {
        // With a session cookie on PostgreSQL, the page is read with the session (auth.ts).
        config: { sessionWithPage: true },
        schema: {
          summary: 'List pictures, newest first (by upload time, or by date taken)',
          querystring: PictureListQuery,
          response: { 200: PictureList, ...errors },
        },
      },
      // A page is one statement: the pictures with their facts. On PostgreSQL it gives the
      // page's JSON text, sent as it is (no views, no zod), read with the session's check.
      async (request, reply) => {
        const page = request.sessionPage ?? (await readPicturePage(source, request.query));
        return typeof page === 'string' ? sendJsonText(reply, page) : page;
      },
    );

    app.get(
      '/api/pictures/:id',
      {
        schema: {
          summary: 'Get a picture',
          params: PictureIdParams,
          response: { 200: Picture, ...errors },
        },
      },
      async (request) => facts.attachOne(await pictures.get(request.params.id)),
    );

    app.get(
      '/api/pictures/:id/file',
      {
        // The session and the picture in one statement (the hottest read of a scaled site).
        config: { sessionWithPicture: true },
        schema: {
          summary: 'Download the bytes (supports Range and If-None-Match)',
          params: PictureIdParams,
        },
      },
      async (request, reply) => {
        const read = request.sessionPicture;
        if (read instanceof Error) throw read;
        const picture = read ?? (await pictures.get(request.params.id));
        const etag = `"${picture.id}"`;
        const notModified = request.headers['if-none-match'] === etag;
        // A single range is served; a malformed header or several ranges get the whole file.
        let range: { start: number; end: number } | 'unsatisfiable' | undefined;
        const rangeHeader = request.headers.range;
        const ifRange = request.headers['if-range'];
        if (rangeHeader !== undefined && (ifRange === undefined || ifRange === etag)) {
          const ranges = parseRange(picture.size, rangeHeader, { combine: true });
          if (ranges === -1) range = 'unsatisfiable';
          else if (ranges !== -2 && ranges.length === 1 && ranges[0]) range = ranges[0];
        }
        // Opened before any header is set: a listed picture whose bytes are not in the store is
        // a clean 503 (and a repair), never a stream that fails after the headers.
        let stream: Readable | null = null;
        if (!notModified && range !== 'unsatisfiable') {
          stream = await blobs.read(picture.id, range).catch((error: unknown) => {
            if (error instanceof NotFoundError) throw pictures.bytesMissing(picture.id);
            throw error;
          });
        }
        void reply
          .header('ETag', etag)
          .header('Accept-Ranges', 'bytes')
          .header('Cache-Control', 'private, max-age=31536000, immutable')
          .header('Content-Type', picture.contentType)
          .header('X-Content-Type-Options', 'nosniff');
        if (notModified || stream === null) {
          if (notModified) return reply.status(304).send();
          // The picture's Content-Type was set above; the error body is JSON (else Fastify
          // refuses to serialize the object and answers 500).
          return reply
            .status(416)
            .header('Content-Range', `bytes */${picture.size}`)
            .header('Content-Type', 'application/json; charset=utf-8')
            .send({
              error: { code: 'range_not_satisfiable', message: 'The range is outside the file.' },
            });
        }
        if (range !== undefined && range !== 'unsatisfiable') {
          return reply
            .status(206)
            .header('Content-Range', `bytes ${range.start}-${range.end}/${picture.size}`)
            .header('Content-Length', range.end - range.start + 1)
            .send(stream);
        }
        return reply.header('Content-Length', picture.size).send(stream);
      },
    );

    app.get(
      '/api/pictures/:id/thumb',
      {
        schema: {
          summary: 'A WebP thumbnail, small (320 px) or large (1600 px)',
          params: PictureIdParams,
          querystring: ThumbQuery,
        },
      },
      async (request, reply) => {
        const picture = await pictures.get(request.params.id);
        const size = request.query.size;
        const etag = `"${picture.id}-${size}"`;
        void reply
          .header('ETag', etag)
          .header('Cache-Control', 'private, max-age=31536000, immutable')
          .header('Content-Type', 'image/webp');
        if (request.headers['if-none-match'] === etag) return reply.status(304).send();
        return reply.send(await pictures.thumbnail(picture.id, size));
      },
    );

    app.patch(
      '/api/pictures/:id',
      {
        schema: {
          summary: 'Edit title, category or description',
          params: PictureIdParams,
          body: PicturePatch,
          response: { 200: Picture, ...errors },
        },
      },
      async (request) =>
        facts.attachOne(
          await pictures.update(
            requirePrincipal(request),
            request.params.id,
            definedFields(request.body),
          ),
        ),
    );

    app.delete(
      '/api/pictures/:id',
      {
        schema: {
          summary: 'Delete a picture (its bytes go to the trash)',
          params: PictureIdParams,
          response: { 204: z.null().describe('Deleted'), ...errors },
        },
      },
      async (request, reply) => {
        await pictures.delete(requirePrincipal(request), request.params.id);
        return reply.status(204).send(null);
      },
    );
  };

/**
 * Reads a multipart upload: the file streams into the blob store's temp area while the text
 * fields are collected, in whatever order the client sent them.
 */
async function readUpload(
  parts: AsyncIterableIterator<Multipart>,
  blobs: BlobStore,
  limit: number,
): Promise<{ staged: StagedBlob; fields: z.infer<typeof PictureCreateFields> }> {
  let staged: StagedBlob | null = null;
  const raw: Record<string, string> = {};
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') {
          part.file.resume();
          throw new BadRequestError(
            `Unexpected file field "${part.fieldname}"; send it as "file".`,
          );
        }
        if (staged) {
          part.file.resume();
          throw new BadRequestError('Send one file per upload.');
        }
        staged = await blobs.stage(part.file, limit);
        if (part.file.truncated) throw new PayloadTooLargeError(limit);
      } else {
        if (Object.hasOwn(raw, part.fieldname)) {
          throw new BadRequestError(`The field "${part.fieldname}" was sent twice.`);
        }
        raw[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
      }
    }
    if (!staged) throw new BadRequestError('The upload has no "file" part.', 'validation_failed');
    const parsed = PictureCreateFields.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
        .join('; ');
      throw new BadRequestError(`Invalid upload: ${message}`, 'validation_failed');
    }
    return { staged, fields: parsed.data };
  } catch (error) {
    if (staged) await blobs.discard(staged);
    throw error;
  }
}

/** Drops keys whose value is undefined (exactOptionalPropertyTypes). */
function definedFields<T extends Record<string, unknown>>(
  body: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/**
 * A body already serialized as JSON: Fastify sends a string with a JSON content type as it is,
 * without the route's serializer (zod would check a string against the schema and fail).
 */
function sendJsonText(reply: FastifyReply, text: string): FastifyReply {
  return reply.header('content-type', 'application/json; charset=utf-8').send(text);
}
